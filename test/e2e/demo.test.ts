import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore, selectRows } from '../../analytics/store.js'
import { reminderContentExperiment, reminderTimingExperiment } from '../../experiments/examples.js'
import { demoScenario } from '../../runtime/demoScenario.js'
import { freePort } from '../../runtime/freePort.js'
import { planSimulation } from '../../simulator/model.js'
import { potentialOutcomes } from '../../simulator/potentialOutcomes.js'
import { parseScenario } from '../../simulator/scenario.js'

/** `npm run demo` as a newcomer runs it (small and fast here): DEMO_EXIT=1 makes it stop when done. */
function runDemo(env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/demo.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
}

describe('npm run demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-demo-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const ports = async () => ({ PORT: String(await freePort()), TEMPORAL_PORT: String(await freePort()), TEMPORAL_UI_PORT: String(await freePort()) })

  it('runs embedded Nudge and the simulator, prints both experiments next to their truth, latency, false triggers, and writes the report', async () => {
    const data = join(dir, 'run')
    // The demo's own clock (6 simulated minutes a second): its arms stay apart and clicks come before organic purchases.
    const { code, out } = await runDemo({ ...(await ports()), DEMO_DATA_DIR: data, DEMO_EXIT: '1', DEMO_SHOPPERS: '40', DEMO_SEED: '3', LOG_LEVEL: 'warn' }, 300_000)
    expect(code, out).toBe(0)
    expect(out).toContain('Nudge is running')
    expect(out).toMatch(/Simulation: \d+ events, \d+ reminders seen/)
    // Every comparison of both experiments, with the truth for these shoppers beside it.
    for (const [metric, arm] of [['conversion', 'm15'], ['conversion', 'holdout'], ['revenue', 'm15'], ['revenue', 'urgency'], ['conversion', 'urgency']]) expect(out).toMatch(new RegExp(`${metric} +${arm} .*\\[.*\\] +truth `))
    expect(out).toMatch(/conversion +urgency .*truth 0\.0 %/)
    expect(out).toContain('Experiment cart-reminder-timing')
    expect(out).toContain('Experiment cart-reminder-content')
    expect(out).toMatch(/cart-abandonment +p50 \d+ · p90 \d+ · p99 \d+/)
    expect(out).toMatch(/False triggers: \d+ of \d+ sends/)
    const report = /Report: file:\/\/(\S+)/.exec(out)?.[1]
    expect(report && existsSync(report)).toBe(true)
    const html = readFileSync(report!, 'utf8')
    expect(html).toContain('cart-reminder-timing')
    expect(html).toContain('cart-reminder-content')
    expect(html).toContain('class="truth"')
    expect(out).toMatch(/Temporal UI .*: http:\/\/127\.0\.0\.1:\d+/)
    // Grafana: provisioning and dashboards for this run, and its data exported for a server.
    expect(out).toMatch(/Grafana provisioning for this run: .*provisioning/)
    expect(existsSync(join(data, 'grafana', 'provisioning', 'alerting', 'nudge.yaml'))).toBe(true)
    expect(existsSync(join(data, 'grafana', 'dashboards', 'nudge-trigger-latency.json'))).toBe(true)
    expect(readFileSync(join(data, 'grafana', 'load-into-clickhouse.sh'), 'utf8')).toContain('INSERT%20INTO%20journey_runs%20FORMAT%20Native')
    expect(statSync(join(data, 'grafana', 'data', 'journey_runs.native')).size).toBeGreaterThan(0)

    // The truth printed is what these shoppers really do: each exposed user's conversion and
    // revenue in the store are their potential outcome for the arm they got.
    const store = await openStore({ dataDir: join(data, 'clickhouse') })
    try {
      const exposures = await selectRows<{ experiment_key: string; unit: string; variant: string }>(store.client, 'SELECT experiment_key, unit, variant FROM experiment_exposures FINAL')
      const orders = new Map(
        (await selectRows<{ user_key: string; revenue: number }>(store.client, "SELECT user_key, sum(JSONExtractFloat(properties, 'revenue')) AS revenue FROM events WHERE event = 'Order Completed' GROUP BY user_key")).map((o) => [o.user_key, Number(o.revenue)]),
      )
      const timing = exposures.filter((e) => e.experiment_key === reminderTimingExperiment.key)
      const runId = /^sim-(.+)-\d+$/.exec(timing[0]!.unit)![1]!
      const scenario = parseScenario(demoScenario({ seed: 3, shoppers: 40, minutesPerSecond: 6, testIds: [] }))
      const potential = new Map(potentialOutcomes(scenario, planSimulation(scenario, runId)).map((u) => [u.userId, u]))
      const urgency = new Set(exposures.filter((e) => e.experiment_key === reminderContentExperiment.key && e.variant === 'urgency').map((e) => e.unit))
      const realized = timing.map((e) => {
        const p = potential.get(e.unit)!
        const arm = e.variant === 'holdout' ? undefined : e.variant
        const revenue = orders.get(e.unit)
        return { arm: e.variant, got: [revenue === undefined ? 0 : 1, revenue ?? 0], want: [p.conversion(arm), Math.round(p.revenue(arm, urgency.has(e.unit) ? 2 : 1) * 100) / 100] }
      })
      expect(realized.length).toBeGreaterThan(20)
      expect(new Set(realized.map((r) => r.arm))).toEqual(new Set(['h1', 'm15', 'holdout']))
      for (const r of realized) expect(r.got, r.arm).toEqual(r.want)
    } finally {
      await store.close()
    }
  }, 300_000)

  it('refuses to start over a running instance’s files or a directory that is not a demo’s: the data stays', async () => {
    const data = join(dir, 'busy')
    mkdirSync(data, { recursive: true })
    writeFileSync(join(data, 'marker'), 'still here')
    const p = await ports()
    const busy = createServer().listen(Number(p.PORT), '127.0.0.1')
    try {
      const { code, out } = await runDemo({ ...p, DEMO_DATA_DIR: data, DEMO_EXIT: '1' }, 60_000)
      expect(code).toBe(1)
      expect(out).toContain(`Port ${p.PORT} is in use`)
      expect(readFileSync(join(data, 'marker'), 'utf8')).toBe('still here')
    } finally {
      busy.close()
    }
    // Nor does it empty a directory that is not a demo's (DEMO_DATA_DIR=.data by mistake).
    const { code, out } = await runDemo({ ...(await ports()), DEMO_DATA_DIR: data, DEMO_EXIT: '1' }, 60_000)
    expect(code).toBe(1)
    expect(out).toContain("is not a demo's data directory")
    expect(readFileSync(join(data, 'marker'), 'utf8')).toBe('still here')
  }, 90_000)
})
