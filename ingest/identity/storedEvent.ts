import { z } from 'zod'
import { jsonObject } from '../../core/wireSchemas.js'

/**
 * A person's data as the store holds it and the user API and export answer it (users.ts reads it;
 * api/responses/users.ts documents it): one schema, the types derived from it. Properties, context
 * and traits are the customer's free-form JSON.
 */
export const storedEvent = z
  .object({
    messageId: z.string(),
    type: z.string(),
    event: z.string(),
    name: z.string(),
    userId: z.string(),
    anonymousId: z.string(),
    timestamp: z.string(),
    receivedAt: z.string(),
    properties: jsonObject,
    context: jsonObject.optional(),
    traits: jsonObject.optional(),
    consentLimited: z.boolean().describe('Stored without tracking consent: kept minimal'),
  })
  .meta({ id: 'StoredEvent' })
export type StoredEvent = z.infer<typeof storedEvent>

/** An anonymous id linked to a user, how and since when. */
export const linkedIdentity = z.object({ anonymousId: z.string(), kind: z.string(), linkedAt: z.string() })
export type LinkedIdentity = z.infer<typeof linkedIdentity>
