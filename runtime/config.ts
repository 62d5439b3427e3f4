import { z } from 'zod'
import { KEY_TEXT } from '../core/contactCipher.js'
import { DURATION_TEXT, parseDuration } from '../core/duration.js'
import { isTimeZone, parseWindow } from '../core/localTime.js'
import { parseSendGridPublicKey } from '../delivery/webhooks/sendGridSignature.js'

/**
 * All configuration comes from the environment and is validated once at start.
 * Every bad variable is reported by name with the rule it broke, all at once.
 */
const port = z.coerce.number().int().min(1).max(65535)
const positiveInt = z.coerce.number().int().positive()
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
)

const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('.data'),
  ADMIN_API_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  // Earlier admin keys still accepted while clients move to the new one (rotation); remove after.
  ADMIN_API_KEY_PREVIOUS: csv.optional(),
  WRITE_KEYS: csv.optional(),
  PUBLIC_URL: z.url().optional(),

  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'must be host:port')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('nudge'),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  // When set, the Temporal worker exports its own Prometheus metrics (e.g. temporal_workflow_task_execution_failed) on this port.
  TEMPORAL_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  // Role `all`: start runs eagerly on this process's worker (their first task skips task matching).
  TEMPORAL_EAGER_START: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),

  CLICKHOUSE_URL: z.url().optional(),
  CLICKHOUSE_USER: z.string().optional(),
  CLICKHOUSE_PASSWORD: z.string().optional(),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier')
    .optional(),

  NUDGE_ENCRYPTION_KEY: z.string().optional(),
  // Signs tracking, unsubscribe and view-in-browser links; independent of the encryption key.
  NUDGE_LINK_SIGNING_KEY: z.string().optional(),
  // Verification only, for rotation: comma-separated old keys (or derived-from-encryption-key).
  NUDGE_LINK_SIGNING_KEY_PREVIOUS: z.string().optional(),
  DROP_PROPERTY_KEYS: csv.default(['card_number', 'cardNumber', 'cc_number', 'cvv', 'cvc', 'password', 'ssn']),
  CONSENT_DEFAULTS: z.string().default('tracking:granted,marketing:granted,transactional:granted'),
  CONSENT_CATEGORY_MAP: z
    .string()
    .default(
      'analytics:tracking,tracking:tracking,performance:tracking,marketing:marketing,advertising:marketing,email:marketing,transactional:transactional,necessary:transactional',
    ),

  INGEST_MAX_BATCH_ROWS: positiveInt.default(20_000),
  INGEST_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(50),
  INGEST_MAX_QUEUED_ROWS: positiveInt.default(200_000),
  DEDUPE_WINDOW_IDS: positiveInt.default(2_000_000),
  PURCHASE_EVENT: z.string().min(1).default('Order Completed'),
  LOYALTY_TIERS: z.string().default('silver:100,gold:500,platinum:2000'),
  SEGMENT_SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).default(30_000),
  SEGMENT_BATCH_MS: z.coerce.number().int().min(0).max(5000).default(0),
  // live: facts in memory, one process owns ingest; sql: a scoped query per round (any number of
  // API processes). auto = live on the embedded engine, sql with a ClickHouse server.
  SEGMENT_EVALUATION: z.enum(['auto', 'live', 'sql']).default('auto'),
  // Share (0–1) of all users who get no journey email at all: the baseline for lift across all messaging.
  GLOBAL_HOLDOUT: z.coerce.number().min(0).max(0.5).default(0),
  // How often a process looks for experiment and flag changes made by another one.
  CONFIG_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  // Delivery. Without SMTP_URL, mail goes to the embedded capture mailbox (GET /api/messages).
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be smtp://… or smtps://…')
    .optional(),
  MAIL_FROM: z.string().min(3).default('Nudge <nudge@localhost>'),
  MAILBOX_SMTP_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  // At most N marketing emails per window per user, across journeys ("1/16h"; "" = no cap).
  FREQUENCY_CAP: z
    .string()
    .regex(/^(\d+\/\d+(\.\d+)?(ms|s|m|h|d|w))?$/, 'must look like 1/16h')
    .default('1/16h'),
  FREQUENCY_CAP_MODE: z.enum(['defer', 'skip']).default('defer'),
  // Capped sends to one user within this window compete: the journey with the higher priority wins.
  FREQUENCY_CAP_PRIORITY_WINDOW_MS: z.coerce.number().int().min(0).max(10_000).default(250),
  // No marketing email in these local hours (user's `timezone` trait, else QUIET_HOURS_TZ); "" = none.
  QUIET_HOURS: z
    .string()
    .regex(/^(([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)?$/, 'must look like 21:00-08:00')
    .default(''),
  QUIET_HOURS_TZ: z.string().default('UTC'),
  // Test accounts: their journeys run for real but mail only the capture mailbox, and analytics leave them out.
  TEST_USER_IDS: csv.default([]),
  // PUBLIC_URL (above) is where recipients reach tracking, unsubscribe and view-in-browser links
  // (default: this process's own address); use https in production — RFC 8058 one-click needs it.
  TRACK_OPENS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  TRACK_CLICKS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  // Bounce/complaint webhooks (/webhooks/email/*) authenticate with this key only — never the admin
  // key, never in the URL: X-Nudge-Webhook-Key, Authorization: Bearer, or HTTP Basic password
  // (https://nudge:<key>@host/… in the ESP's endpoint). Unset: webhooks refuse every report.
  WEBHOOK_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  // SendGrid Signed Event Webhook verification key (base64 DER, as SendGrid shows it, or PEM). Set:
  // every /webhooks/email/sendgrid request must carry a valid signature.
  SENDGRID_WEBHOOK_PUBLIC_KEY: z.string().min(1).optional(),
  // Only these SNS topics may report SES events (comma-separated ARNs); empty = any topic (signature and key still checked).
  SNS_TOPIC_ARNS: csv.default([]),
  // A signed webhook (SNS Timestamp, SendGrid timestamp header) older than this is refused as a replay.
  WEBHOOK_MAX_AGE: z.string().regex(DURATION_TEXT, 'must be a duration like 1h').default('1h'),
  // Express `trust proxy`: which hops may set X-Forwarded-For (req.ip feeds machine-open detection).
  // "" or false = none (default); true = any; a hop count (1); or names/CIDRs: loopback, 10.0.0.0/8, uniquelocal.
  TRUST_PROXY: z
    .string()
    .regex(
      /^(true|false|\d+|((loopback|linklocal|uniquelocal|(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F]*:[0-9a-fA-F:.]*)(\/\d{1,3})?)\s*(,\s*|$))+)?$/,
      'must be true, false, a hop count, or a list like loopback,10.0.0.0/8',
    )
    .default(''),
  // When set, GET /metrics requires Authorization: Bearer <METRICS_KEY>; unset = open.
  METRICS_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  // Soft bounces within 30 days that suppress an address (hard bounces and complaints suppress at once).
  SOFT_BOUNCE_LIMIT: positiveInt.default(3),
  // Trigger latency SLO on what Nudge adds to a send (received → started + lateness), and per journey.
  TRIGGER_LATENCY_SLO: z.string().regex(DURATION_TEXT, 'must be a duration like 5m').default('5m'),
  TRIGGER_LATENCY_SLOS: z
    .string()
    .regex(/^([\w.-]+:\d+(\.\d+)?(ms|s|m|h))?(,[\w.-]+:\d+(\.\d+)?(ms|s|m|h))*$/, 'must look like cart-abandonment:60s,browse:5m')
    .default(''),
  // A trigger event older than this when it arrives is stale; sends of one user, journey and key this close are duplicates.
  STALE_TRIGGER_MAX_AGE: z.string().regex(DURATION_TEXT, 'must be a duration like 24h').default('24h'),
  DUPLICATE_WINDOW: z.string().regex(DURATION_TEXT, 'must be a duration like 24h').default('24h'),
  // How often the false-trigger monitor checks new sends (0 = never; the report still works).
  FALSE_TRIGGER_CHECK_MS: z.coerce.number().int().min(0).default(60_000),
  TEST_EMAIL_PATTERN: z.string().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  // Ctrl-C / SIGTERM: how long the worker lets in-flight sends and steps finish before cancelling
  // them (their runs resume after a restart); the worker is forced down 2 s after that.
  SHUTDOWN_GRACE: z.string().regex(DURATION_TEXT, 'must be a duration like 8s').default('8s'),
})

export type Env = z.infer<typeof envSchema>
export type ConsentTopicState = 'granted' | 'denied'

export interface Config extends Omit<Env, 'ADMIN_API_KEY'> {
  ADMIN_API_KEY: string
  /** Embedded = no TEMPORAL_ADDRESS / CLICKHOUSE_URL: everything in this process. */
  mode: { temporal: 'embedded' | 'external'; clickhouse: 'embedded' | 'external' }
  writeKeys: Map<string, string> // key -> source name
  consentDefaults: Record<string, boolean>
  consentCategoryMap: Record<string, string>
  loyaltyTiers: { name: string; minLtv: number }[]
  frequencyCap: { max: number; windowMs: number } | undefined
  quietHours: { from: string; to: string } | undefined
  latencySlo: { default: number; byJourney: Record<string, number> }
  testEmailPattern: RegExp | undefined
  /** TRUST_PROXY as Express takes it. */
  trustProxy: boolean | number | string
  webhookMaxAgeMs: number
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

/** Dev defaults so the README's curl examples work out of the box; refused when NODE_ENV=production. */
export const DEV_WRITE_KEY = 'wk_demo'
export const DEV_ADMIN_KEY = 'admin_demo_key'

/** TRIGGER_LATENCY_SLOS (`cart-abandonment:60s,browse:5m`, already validated) → journey → ms. */
export function parseJourneySlos(text: string): Record<string, number> {
  return Object.fromEntries(
    text
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.lastIndexOf(':')), parseDuration(kv.slice(kv.lastIndexOf(':') + 1))!]),
  )
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(source)
  const problems: string[] = []
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(problems)
  }
  const env = result.data
  const production = source.NODE_ENV === 'production'
  if (production && !env.ADMIN_API_KEY) problems.push('ADMIN_API_KEY: required when NODE_ENV=production')
  if (production && !env.WRITE_KEYS) problems.push('WRITE_KEYS: required when NODE_ENV=production')
  if (env.NUDGE_ENCRYPTION_KEY && !KEY_TEXT.test(env.NUDGE_ENCRYPTION_KEY.trim()))
    problems.push('NUDGE_ENCRYPTION_KEY: must be 32 bytes as 64 hex characters or base64')
  if (env.NUDGE_LINK_SIGNING_KEY && !KEY_TEXT.test(env.NUDGE_LINK_SIGNING_KEY.trim()))
    problems.push('NUDGE_LINK_SIGNING_KEY: must be 32 bytes as 64 hex characters or base64')
  for (const [i, k] of (env.NUDGE_LINK_SIGNING_KEY_PREVIOUS ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .entries())
    if (k !== 'derived-from-encryption-key' && !KEY_TEXT.test(k))
      problems.push(
        `NUDGE_LINK_SIGNING_KEY_PREVIOUS: entry ${i + 1} must be 32 bytes as 64 hex characters or base64 (or derived-from-encryption-key)`,
      )

  const writeKeys = new Map<string, string>()
  for (const entry of env.WRITE_KEYS ?? [DEV_WRITE_KEY]) {
    const colon = entry.indexOf(':')
    const [sourceName, key] = colon > 0 ? [entry.slice(0, colon), entry.slice(colon + 1)] : [`source${writeKeys.size + 1}`, entry]
    if (key.length < 6) problems.push(`WRITE_KEYS: key for "${sourceName}" must be at least 6 characters`)
    writeKeys.set(key, sourceName)
  }
  // Each key opens one door. The webhook key sits in an ESP's console (often in its endpoint URL),
  // the metrics key in a scraper's config, write keys in every visitor's browser: one of them being
  // the admin key, or a public write key, would hand out more than its own door.
  const adminKey = env.ADMIN_API_KEY ?? DEV_ADMIN_KEY
  const scoped = [
    ['WEBHOOK_KEY', env.WEBHOOK_KEY],
    ['METRICS_KEY', env.METRICS_KEY],
  ] as const
  for (const [name, key] of scoped) {
    if (!key) continue
    if (key === adminKey)
      problems.push(`${name}: must differ from ADMIN_API_KEY (it is handed to another system; the admin key would go with it)`)
    if (writeKeys.has(key)) problems.push(`${name}: must differ from every WRITE_KEYS key (write keys are public, in browsers and apps)`)
  }
  if (env.WEBHOOK_KEY && env.WEBHOOK_KEY === env.METRICS_KEY) problems.push('METRICS_KEY: must differ from WEBHOOK_KEY')
  if (writeKeys.has(adminKey)) problems.push('WRITE_KEYS: a write key must differ from ADMIN_API_KEY (write keys are public)')
  const consentDefaults: Record<string, boolean> = {}
  for (const [topic, state] of pairs(env.CONSENT_DEFAULTS, 'CONSENT_DEFAULTS', problems)) {
    if (state !== 'granted' && state !== 'denied') problems.push(`CONSENT_DEFAULTS: "${topic}" must be granted or denied`)
    consentDefaults[topic] = state === 'granted'
  }
  const consentCategoryMap: Record<string, string> = {}
  for (const [category, topic] of pairs(env.CONSENT_CATEGORY_MAP, 'CONSENT_CATEGORY_MAP', problems))
    consentCategoryMap[category.toLowerCase()] = topic
  const loyaltyTiers: { name: string; minLtv: number }[] = []
  for (const [name, min] of pairs(env.LOYALTY_TIERS, 'LOYALTY_TIERS', problems)) {
    if (!Number.isFinite(Number(min))) problems.push(`LOYALTY_TIERS: "${name}" needs a number, e.g. gold:500`)
    loyaltyTiers.push({ name, minLtv: Number(min) })
  }
  let testEmailPattern: RegExp | undefined
  if (env.TEST_EMAIL_PATTERN)
    try {
      testEmailPattern = new RegExp(env.TEST_EMAIL_PATTERN, 'i')
    } catch {
      problems.push('TEST_EMAIL_PATTERN: must be a regular expression, e.g. @example\\.test$')
    }
  if (env.SENDGRID_WEBHOOK_PUBLIC_KEY)
    try {
      parseSendGridPublicKey(env.SENDGRID_WEBHOOK_PUBLIC_KEY)
    } catch (err) {
      problems.push(`SENDGRID_WEBHOOK_PUBLIC_KEY: must be SendGrid's verification key (base64 or PEM, EC P-256): ${(err as Error).message}`)
    }
  // A previous admin key still opens /api: it gets the same rules as the current one.
  for (const old of env.ADMIN_API_KEY_PREVIOUS ?? []) {
    if (old.length < 8) problems.push('ADMIN_API_KEY_PREVIOUS: each key must be at least 8 characters')
    if (old === adminKey) problems.push('ADMIN_API_KEY_PREVIOUS: must not repeat ADMIN_API_KEY')
    if (writeKeys.has(old)) problems.push('ADMIN_API_KEY_PREVIOUS: must differ from every WRITE_KEYS key (write keys are public)')
    for (const [name, key] of scoped)
      if (key && key === old) problems.push(`ADMIN_API_KEY_PREVIOUS: must differ from ${name} (it is handed to another system)`)
  }
  if (!isTimeZone(env.QUIET_HOURS_TZ)) problems.push(`QUIET_HOURS_TZ: "${env.QUIET_HOURS_TZ}" is not an IANA time zone`)
  if (problems.length) throw new ConfigError(problems)

  return {
    ...env,
    ADMIN_API_KEY: env.ADMIN_API_KEY ?? DEV_ADMIN_KEY,
    mode: {
      temporal: env.TEMPORAL_ADDRESS ? 'external' : 'embedded',
      clickhouse: env.CLICKHOUSE_URL ? 'external' : 'embedded',
    },
    writeKeys,
    consentDefaults,
    consentCategoryMap,
    loyaltyTiers: loyaltyTiers.sort((a, b) => a.minLtv - b.minLtv),
    frequencyCap: env.FREQUENCY_CAP
      ? { max: Number(env.FREQUENCY_CAP.split('/')[0]), windowMs: parseDuration(env.FREQUENCY_CAP.split('/')[1]!)! }
      : undefined,
    quietHours: parseWindow(env.QUIET_HOURS),
    latencySlo: {
      default: parseDuration(env.TRIGGER_LATENCY_SLO)!,
      byJourney: parseJourneySlos(env.TRIGGER_LATENCY_SLOS),
    },
    testEmailPattern,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    webhookMaxAgeMs: parseDuration(env.WEBHOOK_MAX_AGE)!,
  }
}

/** TRUST_PROXY (validated) → Express's `trust proxy` value; off unless configured. */
export function parseTrustProxy(text: string): boolean | number | string {
  const t = text.trim()
  if (t === '' || t === 'false') return false
  if (t === 'true') return true
  if (/^\d+$/.test(t)) return Number(t)
  return t
}

function pairs(text: string, name: string, problems: string[]): [string, string][] {
  const out: [string, string][] = []
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [a, b, ...rest] = part.split(':')
    if (!a || !b || rest.length) problems.push(`${name}: "${part}" must look like name:value`)
    else out.push([a.trim(), b.trim()])
  }
  return out
}
