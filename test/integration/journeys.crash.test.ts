import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../runtime/freePort.js'
import { ensureTemporalCli } from '../../runtime/temporal/temporalCli.js'
import { startDevServer } from '../../runtime/temporal/temporalDevServer.js'
import { NO_SEND_LIMITS, TEST_KEYS, startEmbedded } from '../helpers/child.js'
import { selectRows } from '../../clickhouse/store.js'
import { admin, post, startTestNudge, tempDataDir, uid, useTestNudge } from '../helpers/harness.js'
import { activeJourney, endedRun, expectOneMessageEach, identify, messagesTo, sleep, track, waitFor } from '../helpers/journeys.js'

const probe = (id: string, event: string, delay: string) => ({
  id,
  name: id,
  trigger: { type: 'event', event },
  steps: [
    { id: 'wait', type: 'delay', duration: delay },
    { id: 'send', type: 'send', template: 'related-products', subject: `${id} for {{ user.id }}` },
  ],
})

describe('crashes: every due message is sent exactly once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-crash-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('the Nudge process (worker, API, engine) is killed with SIGKILL while runs are in flight → after restart every message is sent once', async () => {
    const env = {
      DATA_DIR: dir,
      PORT: String(await freePort()),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `crash-${process.pid}`,
      ...TEST_KEYS,
      ...NO_SEND_LIMITS,
      LOG_LEVEL: 'warn',
    }
    const base = `http://127.0.0.1:${env.PORT}`
    const first = await startEmbedded(env)
    await activeJourney(base, probe('crash-probe', 'Crash Probe', '1200ms'))
    const users = Array.from({ length: 40 }, () => uid('crash'))
    for (const u of users) await identify(base, u, { email: `${u}@example.test` })
    const t0 = Date.now()
    await Promise.all(users.map((u) => track(base, u, 'Crash Probe')))
    // Kill while timers fire and sends are being handed over.
    await sleep(Math.max(0, 1300 - (Date.now() - t0)))
    first.child.kill('SIGKILL')
    await first.exited

    const second = await startEmbedded(env)
    try {
      await expectOneMessageEach(base, users, (u) => `crash-probe for ${u}`)
    } finally {
      await second.stop()
    }
  })
})

describe('a trigger stored but not routed before a crash is routed after the restart', () => {
  const fx = useTestNudge({ role: 'all', env: { CONFIG_POLL_MS: '100', FREQUENCY_CAP: '', QUIET_HOURS: '' } })

  it('replays from the last routed batch; runs that already started are not started again', async () => {
    const base = () => fx.nudge.url
    await activeJourney(base(), probe('replay-probe', 'Replay Probe', '100ms'))
    const done = uid('done')
    const lost = uid('lost')
    for (const u of [done, lost]) await identify(base(), u, { email: `${u}@example.test` })
    await track(base(), done, 'Replay Probe')
    await waitFor(async () => (await messagesTo(base(), `${done}@example.test`)).length === 1, 10_000, 'the first run')
    // The crash window: a batch stored (acknowledged) whose routing never finished. Forget that
    // routing got past the first run's trigger, and store the second trigger behind the router's back.
    const client = fx.nudge.store.client
    const [{ seq }] = (await selectRows<{ seq: string }>(
      client,
      "SELECT max(ingest_seq) AS seq FROM events WHERE event = 'Replay Probe'",
    )) as [{ seq: string }]
    await client.command({
      query: 'ALTER TABLE journey_router_progress DELETE WHERE seq >= {s:UInt64} SETTINGS mutations_sync = 2',
      query_params: { s: Number(seq) },
    })
    await fx.restart() // replays the first trigger: its run recorded its start, so it is not started again
    const now = Date.now()
    await fx.nudge.store.client.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: [
        {
          message_id: uid('m'),
          source: 'web',
          type: 'track',
          event: 'Replay Probe',
          name: '',
          user_id: lost,
          anonymous_id: '',
          user_key: lost,
          timestamp: now,
          received_at: now,
          properties: '{}',
          traits: '{}',
          context: '{}',
          group_id: '',
          previous_id: '',
          consent_limited: 0,
          ingest_seq: Number(seq) + 1_000_000,
        },
      ],
    })
    await fx.restart() // replays the second: stored, never routed
    await waitFor(async () => (await messagesTo(base(), `${lost}@example.test`)).length === 1, 15_000, 'the replayed trigger’s message')
    await sleep(500)
    expect(await messagesTo(base(), `${done}@example.test`)).toHaveLength(1)
  })
})

describe('the Temporal dev server restarts on its data file → runs resume', () => {
  const data = tempDataDir()
  const temporalDir = mkdtempSync(join(tmpdir(), 'nudge-temporal-'))
  afterAll(() => {
    data.remove()
    rmSync(temporalDir, { recursive: true, force: true })
  })

  it('runs waiting on a timer when the server stops are sent after it comes back', async () => {
    const cliPath = await ensureTemporalCli()
    const port = await freePort()
    const dbFile = join(temporalDir, 'temporal.db')
    let server = await startDevServer({ cliPath, port, dbFile })
    const nudge = await startTestNudge({
      dataDir: data.dir,
      role: 'all',
      temporalAddress: server.address,
      env: { CONFIG_POLL_MS: '100', FREQUENCY_CAP: '', QUIET_HOURS: '' },
    })
    try {
      await activeJourney(nudge.url, probe('restart-probe', 'Restart Probe', '8s'))
      const users = Array.from({ length: 5 }, () => uid('restart'))
      for (const u of users) await identify(nudge.url, u, { email: `${u}@example.test` })
      for (const u of users) await track(nudge.url, u, 'Restart Probe')
      await waitFor(
        async () => (await admin(`${nudge.url}/api/journeys/restart-probe/runs`)).json.runs.length === users.length,
        10_000,
        'the runs',
      )
      // Every run is still on its timer (8 s, longer than the set-up takes) when the server goes: nothing has been sent yet.
      for (const u of users) expect(await messagesTo(nudge.url, `${u}@example.test`), u).toEqual([])
      await server.stop()
      await sleep(1000)
      server = await startDevServer({ cliPath, port, dbFile })
      // After it comes back each waiting run sends its message, once, and ends.
      await expectOneMessageEach(nudge.url, users, (u) => `restart-probe for ${u}`)
      for (const u of users) expect(await endedRun(nudge.url, 'restart-probe', u), u).toMatchObject({ outcome: 'completed' })
      expect((await post(`${nudge.url}/v1/track`, { userId: users[0], event: 'After Restart' })).status).toBe(200)
    } finally {
      await nudge.stop()
      await server.stop()
    }
  })
})
