import type { ContactCipher } from '../core/contactCipher.js'
import type { ConsentState } from './identity/consentState.js'
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
export function buildRows(
  events: IngestEvent[],
  apiConsent: Omit<ConsentUpdate, 'messageId'>[],
  ctx: BuildContext,
  recordedAt: number,
): BuiltRows {
  const rows = emptyRowSet()
  const consentChanges: ConsentUpdate[] = []
  // Changes earlier in this batch, not yet applied to ctx.consent: user → topic → choice.
  const pending = new Map<string, Map<string, { granted: boolean; at: number }>>()
  const grantedNow = (userKey: string, topic: string) => pending.get(userKey)?.get(topic)?.granted ?? ctx.consent.isGranted(userKey, topic)
  const recordedNow = (userKey: string, topic: string) => pending.get(userKey)?.get(topic) ?? ctx.consent.recorded(userKey).get(topic)
  const record = (c: ConsentUpdate) => {
    const previous = recordedNow(c.userKey, c.topic)
    if (previous?.granted === c.granted) return // a timeline of changes, not of repetitions
    if (previous && previous.at > c.changedAt) return // an older choice never overrides a newer one
    let topics = pending.get(c.userKey)
    if (!topics) pending.set(c.userKey, (topics = new Map()))
    topics.set(c.topic, { granted: c.granted, at: c.changedAt })
    consentChanges.push(c)
  }
  const hasChoices = (key: string) => ctx.consent.recorded(key).size > 0 || pending.has(key)
  const topicsOf = (key: string) => [...ctx.consent.recorded(key).keys(), ...(pending.get(key)?.keys() ?? [])]
  /** On a link, the newer recorded choice of either id holds for both. */
  const carryOver = (user: string, anonymous: string, messageId: string) => {
    // Most ids never recorded a choice: nothing to carry (and no sets to build, per event).
    if (!hasChoices(user) && !hasChoices(anonymous)) return
    const topics = new Set([...topicsOf(user), ...topicsOf(anonymous)])
    for (const topic of topics) {
      const u = recordedNow(user, topic)
      const a = recordedNow(anonymous, topic)
      const newer = !u ? a : !a ? u : a.at > u.at ? a : u
      if (!newer) continue
      for (const key of [user, anonymous])
        record({ userKey: key, topic, granted: newer.granted, changedAt: newer.at, source: 'link', messageId })
    }
  }
  for (const c of apiConsent) record({ ...c, messageId: '' })

  let consentLimited = 0
  const newLinks = new Set<string>()
  for (const e of events) {
    // A device clock in the future must not outrank a later withdrawal: never after receipt.
    const changedAt = Math.min(e.timestamp, e.receivedAt)
    for (const c of e.consent)
      for (const key of new Set([e.userKey, e.anonymousId].filter(Boolean)))
        record({ ...c, userKey: key, changedAt, messageId: e.messageId })
    if (e.userId && e.anonymousId && e.userId !== e.anonymousId) carryOver(e.userId, e.anonymousId, e.messageId)
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
