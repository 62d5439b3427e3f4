import type { DestinationOf } from '../destinationSchema.js'
import type { DestinationRecord } from '../destinationRecord.js'
import { mapRecord } from '../mapping.js'
import { httpCall, type SendResult } from './httpCall.js'
import type { Sender } from './sender.js'

/**
 * Salesforce through its REST API with an OAuth bearer token: a Contact or Lead is upserted by an
 * external-ID field holding the Nudge user id (`PATCH /services/data/vXX.X/sobjects/<Object>/<Field>/<id>`,
 * 201 created / 204 updated) with the mapped fields; an erasure deletes it the same way (`DELETE`).
 * Salesforce answers an exhausted API allowance with 403 REQUEST_LIMIT_EXCEEDED: retried, like a 429.
 */
export function salesforceSender(d: DestinationOf<'salesforce'>): Sender {
  const c = d.config
  const url = (userId: string) =>
    `${c.instanceUrl.replace(/\/+$/, '')}/services/data/${c.apiVersion}/sobjects/${c.object}/${c.externalIdField}/${encodeURIComponent(userId)}`
  const headers = { authorization: `Bearer ${c.accessToken}` }

  return {
    async send(r: DestinationRecord): Promise<SendResult> {
      const fields = mapRecord(r, c.mapping)
      // Nothing mapped from this record: no field to update, and an empty upsert would create a bare record.
      if (!Object.keys(fields).length) return { status: 'ok' }
      return limits(await httpCall({ method: 'PATCH', url: url(r.userKey), headers, body: JSON.stringify(fields), timeoutMs: d.timeoutMs }))
    },
    async erase(userId: string): Promise<SendResult> {
      if (!c.deleteOnErasure) return { status: 'ok' }
      const res = limits(await httpCall({ method: 'DELETE', url: url(userId), headers, timeoutMs: d.timeoutMs }))
      return res.status === 'permanent' && res.reason.startsWith('HTTP 404') ? { status: 'ok' } : res
    },
  }
}

function limits(res: SendResult): SendResult {
  if (res.status === 'permanent' && res.reason.startsWith('HTTP 403') && res.reason.includes('REQUEST_LIMIT_EXCEEDED'))
    return { status: 'retry', code: 'rate_limited', reason: res.reason }
  return res
}
