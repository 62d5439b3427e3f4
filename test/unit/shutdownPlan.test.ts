import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config.js'
import { createLogger } from '../../core/log.js'
import { ShutdownIncomplete, runShutdownPlan } from '../../runtime/shutdownPlan.js'

const quiet = () => {
  const lines: string[] = []
  return { lines, log: createLogger('info', (l) => lines.push(l)) }
}

describe('shutdown plan', () => {
  it('runs the steps in their order, one after the other, and logs each', async () => {
    const { lines, log } = quiet()
    const ran: string[] = []
    const step = (name: string, ms: number) => ({
      name,
      timeoutMs: 1000,
      run: () => new Promise<void>((r) => setTimeout(() => (ran.push(name), r()), ms)),
    })
    const outcomes = await runShutdownPlan([step('drain', 30), step('close', 0), step('server', 10)], log)
    expect(ran).toEqual(['drain', 'close', 'server'])
    expect(outcomes.map((o) => o.outcome)).toEqual(['done', 'done', 'done'])
    expect(lines.filter((l) => /shutdown \d\/3/.test(l))).toHaveLength(3)
    expect(lines[0]).toContain('1. drain')
  })

  it('a step that overruns or fails does not hold up the later ones; the plan then reports it', async () => {
    const { lines, log } = quiet()
    const ran: string[] = []
    const plan = runShutdownPlan(
      [
        { name: 'stuck', timeoutMs: 50, run: () => new Promise(() => {}) },
        { name: 'broken', timeoutMs: 1000, run: () => Promise.reject(new Error('boom')) },
        { name: 'close stores', timeoutMs: 1000, run: () => void ran.push('close stores') },
      ],
      log,
    )
    const err = await plan.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ShutdownIncomplete)
    expect((err as ShutdownIncomplete).steps.map((s) => s.outcome)).toEqual(['timed out', 'failed', 'done'])
    expect((err as Error).message).toContain('stuck timed out')
    expect((err as Error).message).toContain('broken failed (boom)')
    expect(ran).toEqual(['close stores'])
    expect(lines.some((l) => l.includes('stuck: timed out'))).toBe(true)
  })
})

describe('signals', () => {
  it('a second Ctrl-C (after the 2 s a terminal’s double delivery gets) exits at once, with 130', async () => {
    // A stop that never ends, as a hung drain would.
    const script = `import { stopOnSignals } from './runtime/processLifecycle.ts'
      import { createLogger } from './core/log.ts'
      stopOnSignals(() => new Promise(() => {}), createLogger('info'))
      setInterval(() => {}, 1000)
      process.stdout.write('ready\\n')`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 50))
    child.kill('SIGINT')
    child.kill('SIGINT') // the same Ctrl-C delivered twice (npm and the terminal): ignored
    await new Promise((r) => setTimeout(r, 2500))
    expect(child.exitCode).toBeNull()
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(out).toContain('second signal: exiting now')
  }, 30_000)
})

describe('SHUTDOWN_GRACE', () => {
  it('defaults to 8s and must be a duration', () => {
    expect(loadConfig({}).SHUTDOWN_GRACE).toBe('8s')
    expect(loadConfig({ SHUTDOWN_GRACE: '1500ms' }).SHUTDOWN_GRACE).toBe('1500ms')
    expect(() => loadConfig({ SHUTDOWN_GRACE: 'soon' })).toThrow(/SHUTDOWN_GRACE: must be a duration like 8s/)
  })
})
