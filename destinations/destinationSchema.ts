import { z } from 'zod'
import { COMPUTED_PROPERTIES } from '../segments/ruleSchema.js'

/**
 * A destination: where Nudge's behaviour goes (segment entries and exits, computed traits, message
 * outcomes) and how each record's fields are named there. One schema per concept: it validates the
 * API's input, types the code, and describes the OpenAPI document (api/routes/destinations.ts).
 */

export const DESTINATION_KINDS = ['webhook', 'hubspot', 'salesforce', 'segment', 'kafka'] as const
export type DestinationKind = (typeof DESTINATION_KINDS)[number]

/** What a record is about: the record kinds a destination may receive. */
export const OUTCOME_KINDS = ['sent', 'opened', 'clicked', 'converted', 'unsubscribed'] as const
export type OutcomeRecordKind = (typeof OUTCOME_KINDS)[number]
export const RECORD_KINDS = ['segment_entered', 'segment_exited', 'traits', ...OUTCOME_KINDS] as const
export type RecordKind = (typeof RECORD_KINDS)[number]

const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lowercase letters, digits, - and _')
  // GET /api/destinations/report is the report, not a destination.
  .refine((v) => v !== 'report', { message: '"report" is reserved', params: { rule: 'reserved' } })

/** A secret (token, write key, signing secret): write-only, answered masked (see maskSecret). */
const secret = z.string().min(8, 'must be at least 8 characters').max(4096)

/**
 * A URL Nudge posts people's data to: https, so it never crosses a network in clear. Loopback http
 * is let through for local receivers and tests (it never leaves the machine).
 */
const endpoint = z
  .url()
  .max(2048)
  .refine((u) => isHttps(u), { message: 'must be https (http only to localhost / 127.0.0.1)', params: { rule: 'https' } })

export function isHttps(u: string): boolean {
  try {
    const url = new URL(u)
    return url.protocol === 'https:' || (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname))
  } catch {
    return false
  }
}

/**
 * Where a mapped value comes from in a record: its fixed fields, the record's `properties`
 * (outcomes: journeyId, template, url, …) or a computed trait (`traits.r_score`).
 */
export const SOURCE_FIELDS = ['userId', 'kind', 'event', 'at', 'segmentId', 'messageId', 'journeyId', 'stepId', 'template', 'url'] as const
export const sourcePath = z
  .string()
  .max(100)
  .refine((s) => (SOURCE_FIELDS as readonly string[]).includes(s) || /^traits\.[a-z_]+$/.test(s), {
    message: `must be one of ${SOURCE_FIELDS.join(', ')} or traits.<computed property>`,
    params: { rule: 'source_field' },
  })
  .refine((s) => !s.startsWith('traits.') || (COMPUTED_PROPERTIES as readonly string[]).includes(s.slice(7)), {
    message: `traits.<name> must name a computed property (${COMPUTED_PROPERTIES.join(', ')})`,
    params: { rule: 'computed_property' },
  })

/** Destination field name → source path. Each kind restricts the names its API accepts. */
const mapping = (name: z.ZodString) =>
  z
    .record(z.string(), sourcePath)
    // Field names are checked here rather than as the record's key schema: zod reports a bad key as
    // "Invalid key in record", and the API promises to name the rule the name broke.
    .superRefine((m, ctx) => {
      if (Object.keys(m).length > 100) ctx.addIssue({ code: 'custom', message: 'at most 100 mapped fields', params: { rule: 'max' } })
      for (const key of Object.keys(m)) {
        const r = name.safeParse(key)
        if (!r.success)
          ctx.addIssue({ code: 'custom', path: [key], message: `field name ${r.error.issues[0]!.message}`, params: { rule: 'field_name' } })
      }
    })
    .default({})

/** Which records go to the destination. */
export const recordSelection = z
  .object({
    /** Segment entries and exits; `segments` empty = every segment. */
    segments: z
      .object({
        segments: z.array(z.string().min(1).max(200)).max(500).default([]),
        entered: z.boolean().default(true),
        exited: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /** Computed traits, sent (as one `traits` record) whenever the user had a segment change or an outcome. */
    traits: z
      .object({ properties: z.array(z.enum(COMPUTED_PROPERTIES)).min(1) })
      .strict()
      .optional(),
    /** Message outcomes; `journeys` empty = every journey. `converted` = the conversion event after a send. */
    outcomes: z
      .object({
        kinds: z.array(z.enum(OUTCOME_KINDS)).min(1),
        journeys: z.array(z.string().min(1).max(200)).max(500).default([]),
        conversionEvent: z.string().min(1).max(200).default('Order Completed'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((s) => s.segments || s.traits || s.outcomes, {
    message: 'select at least one of segments, traits, outcomes',
    params: { rule: 'min' },
  })
export type RecordSelection = z.infer<typeof recordSelection>

const webhookConfig = z
  .object({
    url: endpoint,
    /** HMAC-SHA256 key of the `Nudge-Signature` header (docs/destinations.md says how to verify). */
    secret: secret.min(16, 'must be at least 16 characters'),
    mapping: mapping(z.string().min(1).max(100)),
  })
  .strict()

const hubspotName = z
  .string()
  .max(100)
  .regex(/^[a-z][a-z0-9_]*$/, 'must be a HubSpot internal property name (lowercase, digits, _)')
const hubspotConfig = z
  .object({
    baseUrl: endpoint.default('https://api.hubapi.com'),
    /** A private app's access token (scopes: crm.objects.contacts.write, and events for custom events). */
    accessToken: secret,
    /** The contact property with unique values holding the Nudge user id (HubSpot: `hasUniqueValue`). */
    idProperty: hubspotName.default('nudge_user_id'),
    /** Record kind → the custom event's fully qualified name (pe<HubID>_<name>); kinds not named update properties only. */
    events: z.partialRecord(z.enum(RECORD_KINDS), z.string().min(1).max(200)).default({}),
    /** Contact property → source path. */
    mapping: mapping(hubspotName),
    /** On erasure, the GDPR delete of the contact (permanent); false = leave the contact. */
    gdprDelete: z.boolean().default(true),
  })
  .strict()

const sfName = z
  .string()
  .max(80)
  .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a Salesforce field API name')
const salesforceConfig = z
  .object({
    instanceUrl: endpoint,
    /** An OAuth 2.0 access token (Bearer) for the REST API. */
    accessToken: secret,
    apiVersion: z
      .string()
      .regex(/^v\d{2,3}\.\d$/, 'must look like v60.0')
      .default('v60.0'),
    object: z.enum(['Contact', 'Lead']).default('Contact'),
    /** The external-ID field holding the Nudge user id: records are upserted by it. */
    externalIdField: sfName.default('Nudge_User_Id__c'),
    /** Field API name → source path. */
    mapping: mapping(sfName),
    /** On erasure, delete the record by its external id. */
    deleteOnErasure: z.boolean().default(true),
  })
  .strict()

const segmentConfig = z
  .object({
    endpoint: endpoint.default('https://api.segment.io'),
    /** The write key of the Segment source Nudge sends as. */
    writeKey: secret,
    /** Trait / property name → source path (traits of identify, properties of track). */
    mapping: mapping(z.string().min(1).max(100)),
    /** Erasure: a SUPPRESS_WITH_DELETE regulation through Segment's Public API (a workspace token); unset = none. */
    deletion: z
      .object({ apiUrl: endpoint.default('https://api.segmentapis.com'), token: secret })
      .strict()
      .optional(),
  })
  .strict()

const kafkaConfig = z
  .object({
    topic: z
      .string()
      .min(1)
      .max(249)
      .regex(/^[a-zA-Z0-9._-]+$/, 'must be a Kafka topic name'),
    /** Brokers; unset = KAFKA_BROKERS. */
    brokers: z.array(z.string().min(1).max(300)).max(50).optional(),
    /** Body `properties` → source path (unset: every field of the record), as the webhook kind. */
    mapping: mapping(z.string().min(1).max(100)),
    /** The topic is compacted (cleanup.policy=compact): an erasure produces a tombstone keyed by the user. */
    compacted: z.boolean().default(false),
  })
  .strict()

const common = {
  id,
  name: z.string().min(1).max(200),
  enabled: z.boolean().default(true),
  records: recordSelection,
  /** Consent topics that must all be granted for anything about a user to leave (CONSENT_DEFAULTS for users who never chose). */
  consentTopics: z.array(z.string().min(1).max(100)).min(1).max(10).default(['tracking']),
  /** Requests per second to this destination, at most (a token bucket per process). */
  rateLimitPerSecond: z.number().positive().max(10_000).default(10),
  /** Records per delivery batch (one workflow run). */
  batchSize: z.number().int().min(1).max(1000).default(100),
  /** Attempts per batch before its undelivered records go to the dead-letter list. */
  maxAttempts: z.number().int().min(1).max(30).default(8),
  /** Per-request timeout, ms. */
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
}

export const destinationDefinition = z
  .discriminatedUnion('kind', [
    z.object({ ...common, kind: z.literal('webhook'), config: webhookConfig }).strict(),
    z.object({ ...common, kind: z.literal('hubspot'), config: hubspotConfig }).strict(),
    z.object({ ...common, kind: z.literal('salesforce'), config: salesforceConfig }).strict(),
    z.object({ ...common, kind: z.literal('segment'), config: segmentConfig }).strict(),
    z.object({ ...common, kind: z.literal('kafka'), config: kafkaConfig }).strict(),
  ])
  .meta({ id: 'DestinationDefinition' })
export type DestinationDefinition = z.infer<typeof destinationDefinition>
export type DestinationOf<K extends DestinationKind> = Extract<DestinationDefinition, { kind: K }>

/** The config keys that hold secrets, per kind: stored sealed, answered masked. */
export const SECRET_KEYS: Record<DestinationKind, readonly string[]> = {
  webhook: ['secret'],
  hubspot: ['accessToken'],
  salesforce: ['accessToken'],
  segment: ['writeKey', 'deletion.token'],
  kafka: [],
}

/** Enough of a secret to recognise it, never to use it (16 characters: it passes the schema, so a GET → PUT round trip works). */
export function maskSecret(value: string): string {
  return `${'*'.repeat(12)}${value.slice(-4)}`
}

/** Whether a submitted secret is a masked one: the stored secret it stands for is kept. */
export const isMasked = (value: string) => /^\*{12}.{0,4}$/.test(value)
