/**
 * The product as `npm start` runs it, in a child process, for the start-up and soak benchmarks:
 * spawned on free ports over a DATA_DIR, healthy when /healthz answers 200, stopped with Ctrl-C
 * (SIGINT) as a person would; its stderr (the start log) is kept for reading.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { Agent, request } from 'node:http'
import { freePort } from '../runtime/freePort.js'

export const WRITE_KEY = 'wk_bench_key'

export interface Child {
  child: ChildProcess
  url: string
  /** Milliseconds from spawn to the first /healthz 200. */
  healthyMs: number
  /** The start log so far (stderr lines). */
  log: string[]
  stop(): Promise<number | null>
}

export async function startChild(dataDir: string, env: Record<string, string> = {}, timeoutMs = 300_000): Promise<Child> {
  const port = await freePort()
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []
  const started = performance.now()
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'runtime/embedded.ts'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      WRITE_KEYS: `bench:${WRITE_KEY}`,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const log: string[] = []
  let partial = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n')
    partial = lines.pop() ?? ''
    log.push(...lines)
    if (process.env.BENCH_VERBOSE) for (const l of lines) process.stderr.write(`  | ${l}\n`)
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nudge exited with ${child.exitCode}:\n${log.slice(-20).join('\n')}`)
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    )
    if (ok) break
    if (performance.now() - started > timeoutMs) throw new Error(`nudge did not become healthy in ${timeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const healthyMs = performance.now() - started
  return {
    child,
    url,
    healthyMs,
    log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT')
      return exited
    },
  }
}

/** The start-up steps the process logged ('start-up step' lines): name → ms. */
export function startupSteps(log: string[]): { step: string; ms: number; atMs: number }[] {
  const steps: { step: string; ms: number; atMs: number }[] = []
  for (const line of log) {
    const at = line.indexOf(' start-up step {')
    if (at >= 0) steps.push(JSON.parse(line.slice(at + ' start-up step '.length)) as { step: string; ms: number; atMs: number })
  }
  return steps
}

/** POSTs a /v1/batch body; resolves with the status (0 when the connection failed). */
export function postBatch(agent: Agent, url: URL, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: '/v1/batch',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
        },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', () => resolve(0))
    req.end(body)
  })
}
