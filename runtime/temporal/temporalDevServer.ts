import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createConnection } from 'node:net'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { Connection } from '@temporalio/client'
import { SEARCH_ATTRIBUTES } from '../../workflows/client/searchAttributes.js'
import { keepOutput } from '../childOutput.js'
import { removeDevServerRecord, stopStaleDevServer, writeDevServerRecord } from './devServerRecord.js'

const WATCHDOG = fileURLToPath(new URL('./temporalWatchdog.mjs', import.meta.url))

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
  /** What the start did about a server an earlier start left running. */
  warn?: (msg: string, extra?: Record<string, unknown>) => void
  readyTimeoutMs?: number
  /**
   * SQLite pragmas for `dbFile` (`--sqlite-pragma name=value`); default WAL_PRAGMAS. `{}` runs
   * SQLite's own defaults (a rollback journal, a full sync per commit).
   */
  sqlitePragmas?: Record<string, string>
  /** Server dynamic config (`--dynamic-config-value key=value`), e.g. for tests. */
  dynamicConfig?: Record<string, string | number | boolean>
}

export interface DevServer {
  address: string
  uiUrl?: string
  /** The server's own process (its parent is the watchdog). */
  pid: number
  stop(): Promise<void>
}

/**
 * With SQLite's defaults (a rollback journal, a full fsync per commit) the file-backed server
 * idles on disk syncs and its starts collapse between 75 and 100/s on 2 cores (p99 11 s). A
 * write-ahead log with `synchronous=NORMAL` syncs only at checkpoints: a commit is in the WAL
 * file (the OS page cache) when acknowledged, so a crash of Nudge or of the server process loses
 * nothing (proved by the kill -9 tests); only a power loss or OS crash can lose the last commits.
 */
export const WAL_PRAGMAS: Readonly<Record<string, string>> = { journal_mode: 'wal', synchronous: 'normal' }

/** Where a dev server on `dbFile` is recorded (see devServerRecord.ts). */
export const devServerRecordFile = (dbFile: string) => join(dirname(dbFile), 'dev-server.json')

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const recordFile = opts.dbFile ? devServerRecordFile(opts.dbFile) : undefined
  await clearTheWay(opts, recordFile)
  const proc = spawnWatched(opts, devServerArgs(opts), recordFile)
  const address = `127.0.0.1:${opts.port}`
  await untilReady(opts, address, proc)
  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : undefined,
    pid: await proc.serverPid,
    stop: proc.stop,
  }
}

/** A stale server of this database stopped; the ports free (else a clear error). */
async function clearTheWay(opts: DevServerOptions, recordFile: string | undefined): Promise<void> {
  const ports = [opts.port, opts.uiPort].filter((p): p is number => !!p)
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true })
    // A server of this database left running by a crash holds the database and, likely, the port.
    const stopped = await stopStaleDevServer(recordFile!, opts.dbFile, opts.warn ?? (() => {}))
    if (stopped) await portsFree(ports, 5000)
  }
  // A server already on the port would answer our readiness probe in place of ours.
  for (const port of ports) {
    if (await portInUse(port))
      throw new Error(
        `Port ${port} is already in use (another Temporal server or Nudge?). Stop it, or set TEMPORAL_PORT / TEMPORAL_UI_PORT.`,
      )
  }
}

/** `temporal server start-dev` arguments for these options. */
function devServerArgs(opts: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn']
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort))
  else args.push('--headless')
  for (const [k, v] of Object.entries(opts.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`)
  if (opts.dbFile) {
    args.push('--db-filename', opts.dbFile)
    for (const [k, v] of Object.entries(opts.sqlitePragmas ?? WAL_PRAGMAS)) args.push('--sqlite-pragma', `${k}=${v}`)
  }
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace)
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`)
  // Workflow updates (synchronous messages to a running journey) are used by later features.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true')
  // Eager start: a run started by a process that is also a worker gets its first task back directly.
  args.push('--dynamic-config-value', 'system.enableEagerWorkflowStart=true')
  return args
}

interface WatchedServer {
  serverPid: Promise<number>
  /** The watchdog's exit code once it exited (undefined while it runs). */
  exited(): number | null | undefined
  /** Its last lines of output. */
  output: string[]
  stop(): Promise<void>
}

/**
 * Own process group: a terminal's Ctrl-C reaches Nudge, which stops the server last, after the
 * worker has drained — not the server first, under a worker still finishing activities. Through
 * the watchdog (its parent, holding a pipe from this process): when this process dies in any
 * way, kill -9 included, the pipe closes and the watchdog stops the server.
 */
function spawnWatched(opts: DevServerOptions, args: string[], recordFile: string | undefined): WatchedServer {
  const child = spawn(process.execPath, [WATCHDOG, opts.cliPath, ...args], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true })
  child.stdin!.on('error', () => {}) // the watchdog gone already: nothing to tell it
  // Exiting (process.exit, an uncaught error): the pipe closes anyway; this only makes it prompt.
  const stopOnExit = () => child.kill('SIGTERM')
  process.once('exit', stopOnExit)
  const serverPid = reportedPid(child.stdio[3] as Readable, opts, recordFile)
  const output = keepOutput(child, opts.log)
  let exited: number | null | undefined
  const exit = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exited = code
      resolve()
    }),
  )
  const stop = async () => {
    if (exited === undefined) {
      child.stdin!.end() // the watchdog's cue: SIGTERM to the server, SIGKILL after 10 s
      const force = setTimeout(() => {
        void serverPid.then((pid) => process.kill(pid, 'SIGKILL')).catch(() => undefined)
        child.kill('SIGKILL')
      }, 15_000)
      await exit
      clearTimeout(force)
    }
    process.removeListener('exit', stopOnExit)
    if (recordFile) removeDevServerRecord(recordFile)
  }
  return { serverPid, exited: () => exited, output, stop }
}

/** The watchdog reports the server's pid; with a database, it is recorded for a start after a crash. */
function reportedPid(report: Readable, opts: DevServerOptions, recordFile: string | undefined): Promise<number> {
  const serverPid = new Promise<number>((resolve, reject) => {
    let text = ''
    report.on('data', (d: Buffer) => {
      text += d.toString('utf8')
      if (!text.includes('\n')) return
      const { pid } = JSON.parse(text) as { pid: number }
      if (recordFile) writeDevServerRecord(recordFile, { pid, port: opts.port, dbFile: opts.dbFile! })
      resolve(pid)
    })
    report.on('end', () => reject(new Error('the Temporal watchdog did not start the server')))
  })
  serverPid.catch(() => undefined)
  return serverPid
}

/** Until the namespace answers; a server that exits or stays silent past the timeout is stopped and reported. */
async function untilReady(opts: DevServerOptions, address: string, proc: WatchedServer): Promise<void> {
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000)
  for (;;) {
    const exited = proc.exited()
    if (exited !== undefined) {
      await proc.stop()
      throw new Error(`temporal server start-dev exited with ${exited}:\n${proc.output.join('\n')}`)
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 })
      try {
        await connection.workflowService.describeNamespace({ namespace: opts.namespace ?? 'default' })
        return
      } finally {
        await connection.close()
      }
    } catch (err) {
      if (Date.now() > deadline) {
        await proc.stop()
        throw new Error(
          `Temporal dev server not ready on ${address} after ${opts.readyTimeoutMs ?? 60_000} ms: ${String(err)}\n${proc.output.join('\n')}`,
          { cause: err },
        )
      }
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

async function portsFree(ports: number[], ms: number): Promise<void> {
  const end = Date.now() + ms
  for (const port of ports) while ((await portInUse(port)) && Date.now() < end) await new Promise((r) => setTimeout(r, 100))
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
