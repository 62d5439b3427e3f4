import { z } from 'zod'
import { isoDateTime, jsonObject } from '../core/wireSchemas.js'

/**
 * The Segment tracking spec (https://segment.com/docs/connections/spec/), as Nudge accepts it.
 * One schema drives request validation, the TypeScript types and the OpenAPI document.
 */
export const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'alias', 'group'] as const
export type EventType = (typeof EVENT_TYPES)[number]

// A NUL in an id reaches Temporal's visibility queries and workflow ids, where it cannot be written
// (other control characters, a tab say, can and are kept): refused at the door, naming the field.
const noNul = (s: string) => !s.includes('\u0000')
const nulIssue = { message: 'must not contain a NUL character', params: { rule: 'nul_character' } }

// Segment ids are strings; some server libraries send numbers, which we keep as their decimal text.
const identifier = z
  .union([z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters').refine(noNul, nulIssue), z.number().finite()])
  .transform(String)

const common = {
  messageId: z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters').refine(noNul, nulIssue).optional(),
  userId: identifier.nullish(),
  anonymousId: identifier.nullish(),
  timestamp: isoDateTime.optional(),
  originalTimestamp: isoDateTime.optional(),
  sentAt: isoDateTime.optional(),
  context: jsonObject.optional(),
  integrations: jsonObject.optional(),
  writeKey: z.string().optional(),
}

export const trackEvent = z
  .object({
    ...common,
    type: z.literal('track'),
    event: z.string().min(1, 'must not be empty').max(200),
    properties: jsonObject.optional(),
  })
  .meta({ id: 'TrackEvent' })
export const identifyEvent = z
  .object({ ...common, type: z.literal('identify'), traits: jsonObject.optional() })
  .meta({ id: 'IdentifyEvent' })
export const pageEvent = z
  .object({
    ...common,
    type: z.literal('page'),
    name: z.string().max(200).optional(),
    category: z.string().max(200).optional(),
    properties: jsonObject.optional(),
  })
  .meta({ id: 'PageEvent' })
export const screenEvent = z
  .object({
    ...common,
    type: z.literal('screen'),
    name: z.string().max(200).optional(),
    category: z.string().max(200).optional(),
    properties: jsonObject.optional(),
  })
  .meta({ id: 'ScreenEvent' })
export const aliasEvent = z.object({ ...common, type: z.literal('alias'), previousId: identifier }).meta({ id: 'AliasEvent' })
export const groupEvent = z
  .object({ ...common, type: z.literal('group'), groupId: identifier, traits: jsonObject.optional() })
  .meta({ id: 'GroupEvent' })

export const segmentEvent = z
  .discriminatedUnion('type', [trackEvent, identifyEvent, pageEvent, screenEvent, aliasEvent, groupEvent])
  .superRefine((e, ctx) => {
    if (!e.userId && !e.anonymousId)
      ctx.addIssue({ code: 'custom', path: ['userId'], message: 'userId or anonymousId is required', params: { rule: 'required' } })
    if (e.type === 'alias' && !e.userId)
      ctx.addIssue({ code: 'custom', path: ['userId'], message: 'alias needs the new userId', params: { rule: 'required' } })
  })
export type SegmentEvent = z.infer<typeof segmentEvent>

export const batchRequest = z
  .object({
    batch: z.array(z.unknown()).min(1, 'must contain at least one event'),
    context: jsonObject.optional(),
    integrations: jsonObject.optional(),
    sentAt: isoDateTime.optional(),
    writeKey: z.string().optional(),
  })
  .meta({ id: 'BatchRequest' })

export const ingestResponse = z.object({ success: z.literal(true) }).meta({ id: 'IngestResponse' })

/** Segment's documented limits. */
export const MAX_EVENT_BYTES = 32 * 1024
export const MAX_BATCH_BYTES = 500 * 1024
