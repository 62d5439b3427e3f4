import { type ChildProcess, spawn } from 'node:child_process'

/** `npm start` (runtime/embedded.ts) as a child process, once its /healthz answers 200. */
export async function startEmbedded(env: Record<string, string>, readyMs = 90_000): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/embedded.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const deadline = Date.now() + readyMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited early: ${out}`)
    const ok = await fetch(`http://127.0.0.1:${env.PORT}/healthz`).then((r) => r.status === 200, () => false)
    if (ok) break
    if (Date.now() > deadline) throw new Error(`not healthy in 90 s: ${out}`)
    await new Promise((r) => setTimeout(r, 300))
  }
  return { child, output: () => out, exited }
}

