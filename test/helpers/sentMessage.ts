import { signToken } from '../../content/tracking/tokens.js'
import type { TestNudge } from './harness.js'
import { uid } from './harness.js'

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
