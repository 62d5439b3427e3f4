import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { NO_SEND_LIMITS, embeddedEnv, installJourney, interrupt, startEmbedded } from '../helpers/child.js'
import { type EspSink, startEspSink } from '../helpers/espSink.js'
import { sleep, waitFor } from '../helpers/journeys.js'

/**
 * Issue 13 §6: the drain is bounded. A send stuck on an ESP that never answers cannot hold the
 * stop: past SHUTDOWN_GRACE (and the 2 s force time after it) the plan goes on, closes everything
 * and exits — with 1, saying which step did not finish. The send's run resumes after a restart.
 */
describe('Ctrl-C with a send stuck on the ESP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-stuck-'))
  let hang = true
  let esp: EspSink
  afterAll(async () => {
    await esp?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('stops within the grace bounds, reports the unfinished drain, and the mail goes out after a restart', async () => {
    esp = await startEspSink({ hang: () => hang })
    const env = await embeddedEnv(dir, {
      WRITE_KEYS: 'web:wk_stuck_key',
      ADMIN_API_KEY: 'admin_stuck_key',
      NUDGE_ENCRYPTION_KEY: 'd'.repeat(64),
      SMTP_URL: esp.url,
      ...NO_SEND_LIMITS,
      SHUTDOWN_GRACE: '1s',
      LOG_LEVEL: 'info',
    })
    const base = `http://127.0.0.1:${env.PORT}`
    const headers = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('wk_stuck_key:').toString('base64')}` }

    const first = await startEmbedded(env)
    const template = { id: 'stuck-note', format: 'html', subject: 'for {{ user.id }}', body: '<p>Hello {{ user.id }}</p>' }
    await installJourney(base, 'admin_stuck_key', template, {
      id: 'stuck-probe',
      name: 'stuck probe',
      trigger: { type: 'event', event: 'Stuck Probe' },
      steps: [{ id: 'send', type: 'send', template: 'stuck-note' }],
    })
    const batch = [
      { type: 'identify', userId: 'stuck-1', traits: { email: 'stuck-1@example.test' } },
      { type: 'track', userId: 'stuck-1', event: 'Stuck Probe' },
    ]
    expect((await fetch(`${base}/v1/batch`, { method: 'POST', headers, body: JSON.stringify({ batch }) })).status).toBe(200)
    // The send has reached the ESP, which now holds it without an answer.
    await waitFor(async () => esp.held.length > 0, 30_000, 'the send to reach the ESP')

    const { code, exitMs } = await interrupt(first)
    console.log(`stuck send: exited ${String(code)} after ${exitMs} ms`)
    console.log(
      first
        .output()
        .split('\n')
        .filter((l) => /shutdown \d|incomplete/.test(l))
        .join('\n'),
    )
    expect(code, first.output()).toBe(1)
    expect(exitMs).toBeLessThan(15_000)
    expect(first.output()).toMatch(
      /shutdown \d+\/\d+ drain the worker \(in-flight sends finish\): failed, going on .*not drained within SHUTDOWN_GRACE/,
    )
    expect(first.output()).toMatch(/shutdown (\d+)\/\1 stop the Temporal dev server: done/)
    expect(esp.deliveries).toHaveLength(0)

    hang = false
    const second = await startEmbedded(env)
    try {
      await waitFor(async () => esp.deliveries.length > 0, 90_000, 'the send after the restart')
      await sleep(2000)
      expect(esp.deliveries.map((d) => d.to)).toEqual(['stuck-1@example.test'])
    } finally {
      await second.stop()
    }
  }, 300_000)
})
