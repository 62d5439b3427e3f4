import { z } from 'zod'
import { durationField } from '../core/durationSchema.js'

/**
 * The segment rule language: JSON, nested AND / OR / NOT over leaves. One schema drives the API's
 * validation, the TypeScript types the compiler works on, and the OpenAPI document.
 *
 * Durations follow the one grammar (core/duration.ts): a number and a unit, e.g. "7d", "24h", "90s".
 */
// Ten years is more than any behavioural window means, and keeps date arithmetic in range.
export const duration = durationField({ ms: 10 * 365 * 86_400_000, text: '10 years' })

/** `and` / `or` take at most this many rules (the schema below and the node-by-node check share it). */
export const MAX_RULE_CHILDREN = 50

type Scalar = string | number | boolean
const isNumeric = (x: unknown) =>
  (typeof x === 'number' && Number.isFinite(x)) || (typeof x === 'string' && x.trim() !== '' && Number.isFinite(Number(x)))

/**
 * What each operator needs of `value`, checked here so every route refuses the same thing, naming
 * `value` (numeric operators compare numbers: a string would reach the engine as NaN).
 */
function checkComparable(c: { op: string; value?: Scalar | Scalar[] | undefined }, ctx: z.RefinementCtx): void {
  const v = c.value
  const issue = (message: string, rule: string) => ctx.addIssue({ code: 'custom', path: ['value'], message, params: { rule } })
  switch (c.op) {
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (Array.isArray(v) || !isNumeric(v)) issue(`must be a number for ${c.op}`, 'type')
      return
    case 'between':
      if (!Array.isArray(v) || v.length !== 2 || !v.every(isNumeric)) return issue('must be two numbers [low, high] for between', 'between')
      if (Number(v[0]) > Number(v[1])) issue('low must not exceed high', 'range')
      return
    case 'in':
    case 'not_in':
      if (Array.isArray(v) && new Set(v.map((x) => typeof x)).size > 1)
        issue('items must all be numbers, all strings or all booleans', 'type')
      return
  }
}

const propertyValue = z.union([z.string(), z.number(), z.boolean()])

/** A filter on an event property; `path` is dotted for nested properties (`item.category`). */
export const propertyFilter = z
  .object({
    path: z.string().min(1).max(200),
    op: z.enum(['eq', 'neq', 'in', 'not_in', 'contains', 'gt', 'gte', 'lt', 'lte', 'between', 'exists']),
    value: z.union([propertyValue, z.array(propertyValue)]).optional(),
  })
  .superRefine(checkComparable)
  .meta({ id: 'PropertyFilter' })

const count = z
  .object({ gte: z.number().int().min(0).optional(), lte: z.number().int().min(0).optional() })
  .refine((c) => c.gte === undefined || c.lte === undefined || c.gte <= c.lte, {
    message: 'gte must not exceed lte',
    params: { rule: 'range' },
  })

const timeRange = {
  /** Only events in the last `within` (relative to now). */
  within: duration.optional(),
  /** Only events in [from, to]. */
  between: z.object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }).optional(),
}

const eventMatch = {
  /** A track event name; or, with type page/screen, the page/screen name (omit for any). */
  event: z.string().min(1).max(200).optional(),
  type: z.enum(['track', 'page', 'screen', 'identify']).default('track'),
  where: z.array(propertyFilter).max(20).optional(),
}

export const performedLeaf = z
  .object({ ...eventMatch, ...timeRange, count: count.optional() })
  .refine((p) => p.type !== 'track' || p.event, {
    message: 'a track condition needs an event name',
    path: ['event'],
    params: { rule: 'required' },
  })
  .refine((p) => !(p.within && p.between), { message: 'use within or between, not both', params: { rule: 'exclusive' } })
  .meta({ description: 'Performed an event (count ≥ 1 by default; count: {lte: 0} for "did not")' })

export const sequenceLeaf = z
  .object({
    first: z.object(eventMatch),
    then: z.object(eventMatch),
    /** B must follow A within this long; the condition holds once that time has passed without B. */
    within: duration,
    /** How far back to look for A (default 30d). */
    lookback: duration.optional(),
    /** Property that ties B to A (e.g. "cartId"): only a B with the same value cancels an A. */
    sameProperty: z.string().min(1).max(200).optional(),
  })
  .meta({ description: 'Performed A and not B within T after A ("added to cart, no checkout within 24 h")' })

export const ENGAGEMENT_EVENTS = {
  delivered: 'Email Delivered',
  opened: 'Email Opened',
  clicked: 'Email Link Clicked',
  unsubscribed: 'Unsubscribed',
  bounced: 'Email Bounced',
  complained: 'Email Marked as Spam',
} as const

export const engagementLeaf = z
  .object({
    action: z.enum(Object.keys(ENGAGEMENT_EVENTS) as [keyof typeof ENGAGEMENT_EVENTS, ...(keyof typeof ENGAGEMENT_EVENTS)[]]),
    count: count.optional(),
    within: duration.optional(),
    /** Count machine opens (privacy proxies) and scanner clicks too (default: excluded). */
    includeAutomated: z.boolean().optional(),
  })
  .meta({ description: 'Email engagement from the outcome events (Segment email spec names)' })

const comparable = {
  op: z.enum(['eq', 'neq', 'in', 'not_in', 'contains', 'starts_with', 'gt', 'gte', 'lt', 'lte', 'between', 'exists', 'not_exists']),
  value: z.union([propertyValue, z.array(propertyValue)]).optional(),
}

export const traitLeaf = z
  .object({ key: z.string().min(1).max(200), ...comparable })
  .superRefine(checkComparable)
  .meta({ description: 'A profile trait (latest value)' })

export const COMPUTED_PROPERTIES = [
  'last_seen',
  'first_seen',
  'days_inactive',
  'event_count',
  'order_count',
  'revenue',
  'ltv',
  'average_order_value',
  'days_since_last_order',
  'favourite_category',
  'r_score',
  'f_score',
  'm_score',
  'rfm_tier',
  'loyalty_tier',
] as const
export type ComputedProperty = (typeof COMPUTED_PROPERTIES)[number]

export const computedLeaf = z
  .object({ property: z.enum(COMPUTED_PROPERTIES), ...comparable })
  .superRefine(checkComparable)
  .meta({ description: 'A computed property (RFM, LTV, …)' })

export const consentLeaf = z.object({ topic: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/), granted: z.boolean() })

export const segmentRefLeaf = z.object({ id: z.string().min(1).max(100), member: z.boolean().default(true) })

export type Rule =
  | { and: Rule[] }
  | { or: Rule[] }
  | { not: Rule }
  | { performed: z.input<typeof performedLeaf> }
  | { sequence: z.input<typeof sequenceLeaf> }
  | { engagement: z.input<typeof engagementLeaf> }
  | { trait: z.input<typeof traitLeaf> }
  | { computed: z.input<typeof computedLeaf> }
  | { consent: z.input<typeof consentLeaf> }
  | { segment: z.input<typeof segmentRefLeaf> }

export const rule: z.ZodType<Rule> = z
  .lazy(() =>
    z.union([
      z.object({ and: z.array(rule).min(1).max(MAX_RULE_CHILDREN) }).strict(),
      z.object({ or: z.array(rule).min(1).max(MAX_RULE_CHILDREN) }).strict(),
      z.object({ not: rule }).strict(),
      z.object({ performed: performedLeaf }).strict(),
      z.object({ sequence: sequenceLeaf }).strict(),
      z.object({ engagement: engagementLeaf }).strict(),
      z.object({ trait: traitLeaf }).strict(),
      z.object({ computed: computedLeaf }).strict(),
      z.object({ consent: consentLeaf }).strict(),
      z.object({ segment: segmentRefLeaf }).strict(),
    ]),
  )
  .meta({ id: 'SegmentRule' }) as unknown as z.ZodType<Rule>

export const segmentDefinition = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,99}$/, 'must be a lowercase slug (a-z, 0-9, _ and -)'),
    name: z.string().min(1).max(200),
    description: z.string().max(2000).optional(),
    rule,
  })
  .meta({ id: 'SegmentDefinition' })
export type SegmentDefinition = z.infer<typeof segmentDefinition>
