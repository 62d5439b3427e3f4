import { type ChildProcess, spawn } from 'node:child_process'
import { freePort } from '../../runtime/freePort.js'
import { expect } from 'vitest'
import { ADMIN_KEY, ENCRYPTION_KEY, WRITE_KEY } from './harness.js'

/** A started `npm start` child: its process, everything it printed so far, and its exit code. */
export interface EmbeddedChild {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
  /** Ctrl-C (SIGINT) and its exit code: the stop every test ends a run with. */
  stop: () => Promise<number | null>
}

/**
 * `npm start` (runtime/embedded.ts) as a child process, once its /healthz answers 200.
 * `detached`: in a process group of its own (as a terminal runs it), so a test can signal or
 * kill the whole group (`process.kill(-child.pid, …)`) without reaching the test runner.
 */
export async function startEmbedded(
  env: Record<string, string>,
  readyMs = 90_000,
  opts: { detached?: boolean } = {},
): Promise<EmbeddedChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/embedded.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const deadline = Date.now() + readyMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited early: ${out}`)
    const ok = await fetch(`http://127.0.0.1:${env.PORT}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    )
    if (ok) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`not healthy in ${readyMs / 1000} s: ${out}`)
    }
    await new Promise((r) => setTimeout(r, 300))
  }
  const stop = () => {
    child.kill('SIGINT')
    return exited
  }
  return { child, output: () => out, exited, stop }
}

/** The ports `npm start` listens on, each a free one: its API, its Temporal dev server and that server's UI. */
// A type, not an interface: an env built from it must still pass as a Record<string, string>.
export type EmbeddedPorts = {
  PORT: string
  TEMPORAL_PORT: string
  TEMPORAL_UI_PORT: string
}

/** The harness's keys as `npm start` reads them, so the journeys.ts helpers work against it. */
export const TEST_KEYS = { WRITE_KEYS: `web:${WRITE_KEY}`, ADMIN_API_KEY: ADMIN_KEY, NUDGE_ENCRYPTION_KEY: ENCRYPTION_KEY }

/** No frequency cap and no quiet hours: a test's sends are due when its journey says. */
export const NO_SEND_LIMITS = { FREQUENCY_CAP: '', QUIET_HOURS: '' }

/** The environment of an `npm start` of its own: `DATA_DIR`, fresh free ports, then the test's settings. */
export async function embeddedEnv<E extends Record<string, string>>(
  dir: string,
  settings: E,
): Promise<{ DATA_DIR: string } & EmbeddedPorts & E> {
  return {
    DATA_DIR: dir,
    PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    ...settings,
  }
}

/**
 * Ctrl-C and up to `ms` for the process to exit; past that it is killed (SIGKILL) and the code
 * reads 'still running'. Also how long the stop took, from the signal.
 */
export async function interrupt(n: EmbeddedChild, ms = 30_000): Promise<{ code: number | null | 'still running'; exitMs: number }> {
  const t0 = Date.now()
  n.child.kill('SIGINT')
  const code = await Promise.race([n.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))])
  const exitMs = Date.now() - t0
  if (code === 'still running') n.child.kill('SIGKILL')
  return { code, exitMs }
}

/** Saves a template and a journey through the admin API and activates the journey, each step checked. */
export async function installJourney(
  base: string,
  adminKey: string,
  template: { id: string },
  journey: { id: string; [k: string]: unknown },
): Promise<void> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` }
  const save = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
  expect((await save('/api/templates', template)).status).toBe(201)
  expect((await save('/api/journeys', journey)).status).toBe(201)
  expect((await fetch(`${base}/api/journeys/${journey.id}/activate`, { method: 'POST', headers })).status).toBe(200)
}
