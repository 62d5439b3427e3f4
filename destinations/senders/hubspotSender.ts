import type { DestinationOf } from '../destinationSchema.js'
import type { DestinationRecord } from '../destinationRecord.js'
import { mapRecord } from '../mapping.js'
import { httpCall, type SendResult } from './httpCall.js'
import type { Sender } from './sender.js'

/**
 * HubSpot through its CRM v3 public API, with a private app's bearer token:
 * - the contact is upserted by a unique-value property holding the Nudge user id
 *   (`POST /crm/v3/objects/contacts/batch/upsert`, one input), with the mapped contact properties;
 * - a record kind named in `events` is also sent as a custom event occurrence on that contact
 *   (`POST /events/v3/send`, by the object id the upsert answered), HubSpot's timeline of behaviour;
 * - an erasure is the GDPR delete of the contact (`POST /crm/v3/objects/contacts/gdpr-delete`).
 */
export function hubspotSender(d: DestinationOf<'hubspot'>): Sender {
  const c = d.config
  const base = c.baseUrl.replace(/\/+$/, '')
  const headers = { authorization: `Bearer ${c.accessToken}` }
  const call = (path: string, body: unknown) =>
    httpCall({ method: 'POST', url: `${base}${path}`, headers, body: JSON.stringify(body), timeoutMs: d.timeoutMs })

  return {
    async send(r: DestinationRecord): Promise<SendResult> {
      const properties = stringValues(mapRecord(r, c.mapping))
      const upsert = await call('/crm/v3/objects/contacts/batch/upsert', {
        inputs: [{ id: r.userKey, idProperty: c.idProperty, properties }],
      })
      const eventName = c.events[r.kind]
      if (upsert.status !== 'ok' || !eventName) return upsert
      const objectId = (upsert.body as { results?: { id?: string }[] } | undefined)?.results?.[0]?.id
      if (!objectId) return { status: 'retry', code: 'unavailable', reason: 'the contact upsert answered no contact id' }
      return call('/events/v3/send', { eventName, objectId, occurredAt: new Date(r.at).toISOString(), properties })
    },
    async erase(userId: string): Promise<SendResult> {
      if (!c.gdprDelete) return { status: 'ok' }
      const res = await call('/crm/v3/objects/contacts/gdpr-delete', { objectId: userId, idProperty: c.idProperty })
      // No such contact: there is nothing of them there to delete.
      return res.status === 'permanent' && res.reason.startsWith('HTTP 404') ? { status: 'ok' } : res
    },
  }
}

/** HubSpot property values travel as strings (numbers and dates included). */
function stringValues(o: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
}
