import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { NO_SEND_LIMITS, embeddedEnv, installJourney, interrupt, startEmbedded } from '../helpers/child.js'
import { type EspSink, startEspSink } from '../helpers/espSink.js'
import { sleep, waitFor } from '../helpers/journeys.js'

/**
 * Issue 13 §6: Ctrl-C while sends are in flight. The worker drains before the connections its
 * activities use are closed, so the process exits 0 promptly; after a restart every due mail has
 * been handed to the ESP exactly once (counted at a real SMTP server on loopback, which sees every
 * delivery — retries included — not the capture mailbox's collapsed listing).
 */
describe('SIGINT during a burst of due sends', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-drain-'))
  // A slow ESP (150 ms a message): the burst lasts seconds, so SIGINT lands with sends in flight.
  let esp: EspSink
  afterAll(async () => {
    await esp?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('exits 0 within 15 s, and after a restart all 200 due mails were delivered once each', async () => {
    esp = await startEspSink({ delayMs: 150 })
    const deliveries = esp.deliveries
    const env = await embeddedEnv(dir, {
      WRITE_KEYS: 'web:wk_drain_key',
      ADMIN_API_KEY: 'admin_drain_key',
      NUDGE_ENCRYPTION_KEY: 'b'.repeat(64),
      SMTP_URL: esp.url,
      ...NO_SEND_LIMITS,
      LOG_LEVEL: 'info',
    })
    const base = `http://127.0.0.1:${env.PORT}`
    const headers = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('wk_drain_key:').toString('base64')}` }
    const adminHeaders = { 'content-type': 'application/json', authorization: 'Bearer admin_drain_key' }
    const users = Array.from({ length: 200 }, (_, i) => `drain-${i}`)

    const first = await startEmbedded(env)
    // A small HTML template: what is measured is the stop, not rendering under a loaded CPU.
    const template = {
      id: 'drain-note',
      format: 'html',
      subject: 'due now for {{ user.id }}',
      body: '<p>Hello {{ user.id }}, this one was due.</p>',
    }
    await installJourney(base, 'admin_drain_key', template, {
      id: 'drain-probe',
      name: 'drain probe',
      trigger: { type: 'event', event: 'Drain Probe' },
      steps: [{ id: 'send', type: 'send', template: 'drain-note' }],
    })
    const identified = await fetch(`${base}/v1/batch`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ batch: users.map((u) => ({ type: 'identify', userId: u, traits: { email: `${u}@example.test` } })) }),
    })
    expect(identified.status).toBe(200)
    const tracked = await fetch(`${base}/v1/batch`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ batch: users.map((u) => ({ type: 'track', userId: u, event: 'Drain Probe' })) }),
    })
    expect(tracked.status).toBe(200)

    // Mid-burst: some mail is out, most is due or being handed over.
    await waitFor(async () => deliveries.length >= 10, 60_000, 'the burst to begin')
    const atSignal = deliveries.length
    const { code, exitMs } = await interrupt(first)
    console.log(`SIGINT with ${atSignal}/200 delivered; exited ${String(code)} after ${exitMs} ms; ${deliveries.length} delivered by then`)
    console.log(
      first
        .output()
        .split('\n')
        .filter((l) => /shutdown|routing stopped|stopped cleanly/.test(l))
        .join('\n'),
    )
    expect(atSignal).toBeLessThan(200)
    expect(code, first.output()).toBe(0)
    expect(exitMs).toBeLessThan(15_000)
    expect(first.output()).not.toMatch(/ChdbConnection is closed/)
    expect(first.output()).toContain('stopped cleanly')

    const second = await startEmbedded(env)
    try {
      await waitFor(async () => new Set(deliveries.map((d) => d.to)).size >= 200, 90_000, 'every due mail after the restart').catch(
        async (err) => {
          const got = new Set(deliveries.map((d) => d.to))
          const runs = await fetch(`${base}/api/journeys/drain-probe/runs?limit=500`, { headers: adminHeaders }).then(
            (r) => r.json() as Promise<{ runs: { userKey: string; outcome: string; endedAt: string | null; workflowId: string }[] }>,
          )
          const missing = users.filter((u) => !got.has(`${u}@example.test`))
          throw new Error(
            `${String(err)}; ${got.size} recipients got mail; missing ${missing.join(',')}; their runs ${JSON.stringify(runs.runs.filter((r) => missing.includes(r.userKey)))}\n${second.output()}`,
          )
        },
      )
      await sleep(3000) // time for a duplicate to show up, if one were coming
      const perRecipient = new Map<string, number>()
      for (const d of deliveries) perRecipient.set(d.to, (perRecipient.get(d.to) ?? 0) + 1)
      const missing = users.filter((u) => !perRecipient.has(`${u}@example.test`))
      const duplicated = [...perRecipient].filter(([, n]) => n > 1)
      expect(missing).toEqual([])
      expect(duplicated).toEqual([])
      expect(new Set(deliveries.map((d) => d.messageId)).size).toBe(200)
      expect(deliveries).toHaveLength(200)
    } finally {
      await second.stop()
    }
  }, 300_000)
})
