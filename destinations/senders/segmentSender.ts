import type { DestinationOf } from '../destinationSchema.js'
import { type DestinationRecord, EVENT_NAMES } from '../destinationRecord.js'
import { defaultFields, mapRecord } from '../mapping.js'
import { httpCall, type SendResult } from './httpCall.js'
import type { Sender } from './sender.js'

/**
 * Nudge as a Segment source, through Segment's HTTP tracking API (Basic auth, the write key as the
 * user name): computed traits are an `identify`, every other record a `track`. The record id is the
 * `messageId`, which Segment dedupes on, so a retried record is kept once. Erasure: a
 * SUPPRESS_WITH_DELETE regulation through the Public API (`POST /regulations`, a workspace token).
 */
export function segmentSender(d: DestinationOf<'segment'>): Sender {
  const c = d.config
  const base = c.endpoint.replace(/\/+$/, '')
  const auth = `Basic ${Buffer.from(`${c.writeKey}:`).toString('base64')}`
  const fields = (r: DestinationRecord) => (Object.keys(c.mapping).length ? mapRecord(r, c.mapping) : defaultFields(r))

  return {
    send(r: DestinationRecord): Promise<SendResult> {
      const common = {
        userId: r.userKey,
        timestamp: new Date(r.at).toISOString(),
        messageId: r.id,
        context: { library: { name: 'nudge' } },
      }
      const body =
        r.kind === 'traits'
          ? { ...common, traits: Object.keys(c.mapping).length ? mapRecord(r, c.mapping) : (r.data.traits ?? {}) }
          : { ...common, event: EVENT_NAMES[r.kind], properties: fields(r) }
      const path = r.kind === 'traits' ? '/v1/identify' : '/v1/track'
      return httpCall({
        method: 'POST',
        url: `${base}${path}`,
        headers: { authorization: auth },
        body: JSON.stringify(body),
        timeoutMs: d.timeoutMs,
      })
    },
    ...(c.deletion ? { erase: (userId: string) => regulate(d, userId) } : {}),
  }
}

function regulate(d: DestinationOf<'segment'>, userId: string): Promise<SendResult> {
  const del = d.config.deletion!
  return httpCall({
    method: 'POST',
    url: `${del.apiUrl.replace(/\/+$/, '')}/regulations`,
    headers: { authorization: `Bearer ${del.token}` },
    body: JSON.stringify({ regulationType: 'SUPPRESS_WITH_DELETE', subjectType: 'USER_ID', subjectIds: [userId] }),
    timeoutMs: d.timeoutMs,
  })
}
