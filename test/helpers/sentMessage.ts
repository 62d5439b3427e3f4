import { expect } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { signToken } from '../../content/tracking/tokens.js'
import type { TestNudge } from './harness.js'
import { uid } from './harness.js'
import { waitFor } from './journeys.js'

/**
 * A message as the send step leaves it — its ledger row and its stored body — so the public
 * routes (pixel, view in browser) can be driven without running a journey. Returns the tokens the
 * email's links would carry.
 */
export async function seedSentMessage(nudge: TestNudge, opts: { html?: string; sentAgoMs?: number } = {}) {
  const messageId = uid('msg')
  const userKey = uid('reader')
  const at = Date.now() - (opts.sentAgoMs ?? 3_600_000)
  const c = nudge.store.client
  await c.insert({
    table: 'send_ledger',
    format: 'JSONEachRow',
    values: [
      {
        message_id: messageId,
        status: 'sent',
        at,
        workflow_id: `wf-${messageId}`,
        journey_id: 'seeded',
        step_id: 'mail',
        user_key: userKey,
        recipient_hash: `h-${messageId}`,
        template: 'seeded',
        subject: 'Seeded',
        topic: 'marketing',
        priority: 0,
        experiment_key: '',
        variant: '',
        scheduled_at: at,
        is_test: 0,
      },
    ],
  })
  if (opts.html !== undefined)
    await c.insert({
      table: 'message_bodies',
      format: 'JSONEachRow',
      values: [{ message_id: messageId, user_key: userKey, html: opts.html, created_at: at }],
    })
  const key = nudge.journeys.tracking.key
  return { messageId, userKey, open: signToken(key, { k: 'o', m: messageId }), view: signToken(key, { k: 'v', m: messageId }) }
}

/**
 * Opens a seeded message as Mail Privacy Protection does: Apple Mail's user agent, through a hop
 * that says (X-Forwarded-For) the client is in Apple's proxy range. Returns how the stored open
 * was classified — which depends on whether the hop is trusted (TRUST_PROXY).
 */
export async function openViaAppleProxy(nudge: TestNudge): Promise<{ machine: number; machine_reason: string } | undefined> {
  const m = await seedSentMessage(nudge)
  const res = await fetch(`${nudge.url}/t/o/${m.open}`, {
    headers: {
      'x-forwarded-for': '17.58.0.1',
      'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15',
    },
  })
  expect(res.status).toBe(200)
  const [row] = await waitFor(async () => {
    const r = await selectRows<{ machine: number; machine_reason: string }>(
      nudge.store.client,
      "SELECT machine, machine_reason FROM message_events WHERE message_id = {m:String} AND event = 'open'",
      { m: m.messageId },
    )
    return r.length > 0 && r
  })
  return row
}
