import { z } from 'zod'
import { jsonObject } from '../../core/wireSchemas.js'
import { linkedIdentity, storedEvent } from '../../ingest/identity/storedEvent.js'

/**
 * What `GET /api/users/:id` and its export answer. ingest/identity/users.ts reads it from the
 * store; `reply` checks at compile time that what it reads is this (a stored event and a linked
 * identity are ingest's schemas). Traits and computed values are the customer's free-form JSON.
 */
const consent = z.object({
  current: z.record(z.string(), z.boolean()),
  timeline: z.array(z.object({ userKey: z.string(), topic: z.string(), granted: z.boolean(), changedAt: z.string(), source: z.string() })),
})

export const userProfile = z
  .object({
    userId: z.string(),
    traits: jsonObject.describe('Free-form: the traits identify calls sent'),
    contacts: z.record(z.string(), z.string()).describe('Contact traits (email, phone), masked'),
    identities: z.array(linkedIdentity),
    consent,
    recentEvents: z.array(storedEvent),
    segments: z.array(z.string()).describe('Segments the user is in now'),
    computed: jsonObject.describe('Computed properties (RFM, LTV, …): free-form by definition'),
  })
  .meta({ id: 'UserProfile' })

export const userExport = z
  .object({
    exportedAt: z.string(),
    userId: z.string(),
    profile: z.object({ traits: jsonObject, contacts: z.record(z.string(), z.string()).describe('Decrypted') }),
    identities: z.array(linkedIdentity),
    consent,
    events: z.array(storedEvent),
  })
  .meta({ id: 'UserExport' })
