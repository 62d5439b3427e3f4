import type { ContactCipher } from '../../core/contactCipher.js'
import type { ConsentState } from '../consentState.js'
import { type RowSet, consentRow, contactRows, emptyRowSet, eventRow, identityRows, traitRows } from './rows.js'
import type { ConsentUpdate, IngestEvent } from './types.js'

export interface BuildContext {
  consent: ConsentState
  cipher: ContactCipher
  lookupKey: Buffer
  /** user↔anonymous links already stored; each link is written once, not with every event. */
  knownLinks: ReadonlySet<string>
}

export interface BuiltRows {
  rows: RowSet
  consentChanges: ConsentUpdate[]
  newLinks: Set<string>
  consentLimited: number
}

/**
 * Every row one write batch produces, in event order: consent changes carried by an event apply
 * to that event and everything after it, before the tracking gate decides what to keep.
 */
export function buildRows(events: IngestEvent[], apiConsent: Omit<ConsentUpdate, 'messageId'>[], ctx: BuildContext, recordedAt: number): BuiltRows {
  const rows = emptyRowSet()
  const consentChanges: ConsentUpdate[] = []
  const pending = new Map<string, boolean>() // changes earlier in this batch, not yet applied to ctx.consent
  const grantedNow = (userKey: string, topic: string) => pending.get(`${userKey}\u0000${topic}`) ?? ctx.consent.isGranted(userKey, topic)
  const record = (c: ConsentUpdate) => {
    const key = `${c.userKey}\u0000${c.topic}`
    const previous = pending.has(key) ? pending.get(key) : ctx.consent.explicit(c.userKey, c.topic)
    if (previous === c.granted) return // a timeline of changes, not of repetitions
    pending.set(key, c.granted)
    consentChanges.push(c)
  }
  for (const c of apiConsent) record({ ...c, messageId: '' })

  let consentLimited = 0
  const newLinks = new Set<string>()
  for (const e of events) {
    for (const c of e.consent)
      for (const key of new Set([e.userKey, e.anonymousId].filter(Boolean))) record({ ...c, userKey: key, changedAt: e.timestamp, messageId: e.messageId })
    const tracking = grantedNow(e.userKey, 'tracking') && (!e.anonymousId || grantedNow(e.anonymousId, 'tracking'))
    if (!tracking) consentLimited++
    rows.events.push(eventRow(e, tracking))
    for (const t of traitRows(e)) rows.traits.push(t)
    for (const c of contactRows(e, ctx.cipher, ctx.lookupKey)) rows.contacts.push(c)
    for (const link of identityRows(e)) {
      const key = `${link.user_id}\u0000${link.anonymous_id}`
      if (ctx.knownLinks.has(key) || newLinks.has(key)) continue
      newLinks.add(key)
      rows.identities.push(link)
    }
  }
  rows.consent = consentChanges.map((c) => consentRow(c, recordedAt))
  return { rows, consentChanges, newLinks, consentLimited }
}
