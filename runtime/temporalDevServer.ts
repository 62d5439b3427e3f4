import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { createConnection } from 'node:net'
import { Connection } from '@temporalio/client'
import { SEARCH_ATTRIBUTES } from '../workflows/searchAttributes.js'

/**
 * Runs `temporal server start-dev` as a child process: the real Temporal server (SQLite-backed
 * when `dbFile` is given, so journeys survive a restart) with its web UI.
 */
export interface DevServerOptions {
  cliPath: string
  port: number
  uiPort?: number // omitted → headless
  dbFile?: string // omitted → in memory
  namespace?: string
  log?: (line: string) => void
  readyTimeoutMs?: number
  /** Server dynamic config (`--dynamic-config-value key=value`), e.g. for tests. */
  dynamicConfig?: Record<string, string | number | boolean>
}

export interface DevServer {
  address: string
  uiUrl?: string
  stop(): Promise<void>
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  // A server already on the port would answer our readiness probe in place of ours.
  for (const port of [opts.port, opts.uiPort].filter((p): p is number => !!p)) {
    if (await portInUse(port))
      throw new Error(`Port ${port} is already in use (another Temporal server or Nudge?). Stop it, or set TEMPORAL_PORT / TEMPORAL_UI_PORT.`)
  }
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn']
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort))
  else args.push('--headless')
  for (const [k, v] of Object.entries(opts.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`)
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true })
    args.push('--db-filename', opts.dbFile)
  }
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace)
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`)
  // Workflow updates (synchronous messages to a running journey) are used by later features.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true')
  // Eager start: a run started by a process that is also a worker gets its first task back directly.
  args.push('--dynamic-config-value', 'system.enableEagerWorkflowStart=true')

  // Own process group: a terminal's Ctrl-C reaches Nudge, which stops the server last, after the
  // worker has drained — not the server first, under a worker still finishing activities.
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  const output: string[] = []
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      output.push(line)
      if (output.length > 40) output.shift()
      opts.log?.(line)
    }
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  let exited: number | null | undefined
  child.on('exit', (code) => (exited = code))

  const address = `127.0.0.1:${opts.port}`
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000)
  for (;;) {
    if (exited !== undefined) throw new Error(`temporal server start-dev exited with ${exited}:\n${output.join('\n')}`)
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 })
      try {
        await connection.workflowService.describeNamespace({ namespace: opts.namespace ?? 'default' })
        break
      } finally {
        await connection.close()
      }
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`Temporal dev server not ready on ${address} after ${opts.readyTimeoutMs ?? 60_000} ms: ${String(err)}\n${output.join('\n')}`)
      }
      await new Promise((r) => setTimeout(r, 250))
    }
  }

  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : undefined,
    stop: async () => {
      await stopChild(child, () => exited !== undefined)
      process.removeListener('exit', killOnExit)
    },
  }
}

async function stopChild(child: ChildProcess, hasExited: () => boolean): Promise<void> {
  if (hasExited()) return
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await done
  clearTimeout(timer)
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
