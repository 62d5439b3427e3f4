import { type ChildProcess, spawn } from 'node:child_process'

/**
 * `npm start` (runtime/embedded.ts) as a child process, once its /healthz answers 200.
 * `detached`: in a process group of its own (as a terminal runs it), so a test can signal or
 * kill the whole group (`process.kill(-child.pid, …)`) without reaching the test runner.
 */
export async function startEmbedded(
  env: Record<string, string>,
  readyMs = 90_000,
  opts: { detached?: boolean } = {},
): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
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
  return { child, output: () => out, exited }
}
