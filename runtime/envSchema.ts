import { z } from 'zod'
import { DURATION_TEXT } from '../core/duration.js'
import { kafkaEnv } from './kafka/kafkaEnv.js'

/**
 * The environment Nudge reads, as one zod schema: each variable's type, rule, default and
 * description live here and nowhere else. `loadConfig` (config.ts) validates with it, and
 * `npm run docs:config` (scripts/gen-config-docs.ts) writes docs/configuration.md from it; a unit
 * test fails when that page is out of date.
 *
 * `.describe()` is what the variable is for; `.meta({ description, unset })` also says what an
 * optional variable's absence means (shown in the page's Default column).
 */
const port = z.coerce.number().int().min(1).max(65535)
const positiveInt = z.coerce.number().int().positive()
const flag = z
  .enum(['true', 'false'])
  .default('true')
  .transform((v) => v === 'true')
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
)
const doc = (description: string, unset: string) => ({ description, unset })

const serviceEnv = {
  PORT: port.default(3000).describe('Port of the API listener.'),
  HOST: z.string().min(1).default('0.0.0.0').describe('Address of the API listener.'),
  DATA_DIR: z
    .string()
    .min(1)
    .default('.data')
    .describe('Embedded data: `clickhouse/`, `temporal/temporal.db`, and the generated `encryption.key` and `link-signing.key`.'),
  ADMIN_API_KEY: z
    .string()
    .min(8, 'must be at least 8 characters')
    .optional()
    .meta(doc('Bearer key for every `/api/*` route. Required when `NODE_ENV=production`.', '`admin_demo_key`, development only')),
  ADMIN_API_KEY_PREVIOUS: csv
    .optional()
    .describe('Comma-separated earlier admin keys still accepted during a rotation; remove them once clients use the new key.'),
  WRITE_KEYS: csv
    .optional()
    .meta(
      doc(
        'Comma-separated `source:key` (or bare keys, at least 6 characters each) for `/v1/*` ingest; the source name is stored per event. Required when `NODE_ENV=production`.',
        '`wk_demo`, development only',
      ),
    ),
  PUBLIC_URL: z
    .url()
    .optional()
    .meta(
      doc(
        'Where recipients reach tracking, unsubscribe and view-in-browser links; https in production (RFC 8058 one-click needs it).',
        "this process's own address",
      ),
    ),
}

const temporalEnv = {
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'must be host:port')
    .optional()
    .meta(doc('`host:port` of an existing Temporal cluster (or Temporal Cloud).', 'the embedded dev server')),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default').describe('Temporal namespace of the journey runs.'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('nudge').describe('Task queue of the journey worker.'),
  TEMPORAL_PORT: port
    .default(7233)
    .describe('Port of the embedded dev server (to run two instances side by side, change it, `TEMPORAL_UI_PORT`, `PORT` and `DATA_DIR`).'),
  TEMPORAL_UI_PORT: port.default(8233).describe('Port of the embedded dev server’s web UI.'),
  TEMPORAL_CLI_PATH: z
    .string()
    .min(1)
    .optional()
    .meta(doc('Use this `temporal` binary.', 'a `temporal` on `PATH`, else the one `npm run setup` builds')),
  TEMPORAL_METRICS_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .optional()
    .meta(
      doc(
        'The Temporal worker exports its own Prometheus metrics (workflow task failures, schedule-to-start latency) on this port.',
        'off',
      ),
    ),
  TEMPORAL_MAX_CACHED_WORKFLOWS: z.coerce
    .number()
    .int()
    .min(2)
    .default(500)
    .describe(
      'Journey runs the worker keeps in memory between their steps (each up to ~1 MB); a run evicted replays its history when it wakes. The SDK default grows with the machine’s memory (≈ 2,400 here), and so did RSS with the number of waiting runs.',
    ),
  TEMPORAL_EAGER_START: flag.describe(
    'When one process ingests and runs the worker (`npm start`), new runs start eagerly: their first task comes back with the start call instead of through task matching.',
  ),
}

const storeEnv = {
  CLICKHOUSE_URL: z
    .url()
    .optional()
    .meta(doc('`http(s)://host:8123` of a ClickHouse server or cluster (scaled mode).', 'the embedded chdb engine')),
  CLICKHOUSE_USER: z.string().optional().describe('User for `CLICKHOUSE_URL`.'),
  CLICKHOUSE_PASSWORD: z.string().optional().describe('Password for `CLICKHOUSE_URL`.'),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier')
    .optional()
    .describe('Database for `CLICKHOUSE_URL`.'),
  CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier')
    .optional()
    .meta(
      doc(
        'A cluster in the servers’ `remote_servers`: the migrations create replicated tables sharded by user plus Distributed tables over them, `ON CLUSTER` ([scaling-out.md](scaling-out.md)). Needs `CLICKHOUSE_URL`.',
        'one server: the migrations run as written',
      ),
    ),
}

const keyEnv = {
  NUDGE_ENCRYPTION_KEY: z
    .string()
    .optional()
    .meta(
      doc(
        'Encrypts stored contacts (AES-256-GCM); contact-lookup and erasure hashes derive from it. 32 bytes as 64 hex characters or base64. Required with `CLICKHOUSE_URL`.',
        'generated into `DATA_DIR/encryption.key`, embedded only',
      ),
    ),
  NUDGE_LINK_SIGNING_KEY: z
    .string()
    .optional()
    .meta(
      doc(
        'Signs click, open, view-in-browser and unsubscribe links; independent of the encryption key and must differ from it. 32 bytes as 64 hex characters or base64 (`openssl rand -hex 32`). Required with `CLICKHOUSE_URL`, the same on every process.',
        'generated into `DATA_DIR/link-signing.key`, embedded only',
      ),
    ),
  NUDGE_LINK_SIGNING_KEY_PREVIOUS: z
    .string()
    .optional()
    .describe(
      'Comma-separated earlier link keys, accepted for verification only (rotation). The word `derived-from-encryption-key` accepts links signed before Nudge had its own link key (with a warning: whoever holds the encryption key could forge those).',
    ),
}

const ingestEnv = {
  DROP_PROPERTY_KEYS: csv
    .default(['card_number', 'cardNumber', 'cc_number', 'cvv', 'cvc', 'password', 'ssn'])
    .describe('Keys removed at ingest from properties, traits and context, at any depth, case-insensitive.'),
  CONSENT_DEFAULTS: z
    .string()
    .default('tracking:granted,marketing:granted,transactional:granted')
    .describe('Consent of users who never chose, `topic:granted|denied` (set `marketing:denied` for opt-in regimes).'),
  CONSENT_CATEGORY_MAP: z
    .string()
    .default(
      'analytics:tracking,tracking:tracking,performance:tracking,marketing:marketing,advertising:marketing,email:marketing,transactional:transactional,necessary:transactional',
    )
    .describe('A CMP’s consent category → Nudge topic (`category:topic`); a category that maps nowhere keeps its own name.'),
  INGEST_MAX_BATCH_ROWS: positiveInt.default(20_000).describe('Most events one insert carries.'),
  INGEST_LINGER_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(50)
    .describe(
      'The least time between the starts of two inserts: a writer idle that long writes at once; under load, requests gather into fewer, larger inserts (each insert costs the embedded engine ~10–15 ms of CPU however small).',
    ),
  INGEST_MAX_QUEUED_ROWS: positiveInt.default(200_000).describe('Queue bound; beyond it ingest answers 429 (bounded memory).'),
  DEDUPE_WINDOW_IDS: positiveInt.default(2_000_000).describe('Message ids remembered for idempotency (~24 bytes each).'),
  PURCHASE_EVENT: z.string().min(1).default('Order Completed').describe('The event RFM, lifetime value and the orders count read.'),
  LOYALTY_TIERS: z.string().default('silver:100,gold:500,platinum:2000').describe('Loyalty tiers as `tier:minimum lifetime value`.'),
}

const segmentEnv = {
  SEGMENT_SWEEP_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(30_000)
    .describe('How often time-driven segments are revisited (`0` = never; in scaled mode set it on one process only).'),
  SEGMENT_BATCH_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(5000)
    .default(0)
    .describe('SQL evaluation: `0` evaluates as soon as the engine is free; more waits that long to batch.'),
  SEGMENT_PREVIEW_TIMEOUT: z
    .string()
    .regex(DURATION_TEXT, 'must be a duration like 10s')
    .default('10s')
    .describe(
      'An admin segment preview or rule check taking longer is cancelled and answered with a 503 (it runs on a connection of its own).',
    ),
  SEGMENT_EVALUATION: z
    .enum(['auto', 'live', 'sql'])
    .default('auto')
    .describe(
      '`live`: facts in memory, one process owns ingest; `sql`: a scoped query per round, any number of API processes; `auto`: live on the embedded engine, sql with `CLICKHOUSE_URL`.',
    ),
  GLOBAL_HOLDOUT: z.coerce
    .number()
    .min(0)
    .max(0.5)
    .default(0)
    .describe('Share of all users who get no journey email at all: the baseline for lift across all messaging.'),
  CONFIG_POLL_MS: z.coerce
    .number()
    .int()
    .min(50)
    .max(60_000)
    .default(500)
    .describe('How often a process picks up experiment and flag changes made by another one.'),
}

const mailEnv = {
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be smtp://… or smtps://…')
    .optional()
    .meta(doc('`smtp(s)://user:pass@host:port` of your ESP’s SMTP relay.', 'the embedded capture mailbox, `GET /api/messages`')),
  MAIL_FROM: z.string().min(3).default('Nudge <nudge@localhost>').describe('Sender of journey mail.'),
  MAILBOX_SMTP_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(0)
    .describe('Port of the embedded capture SMTP server on loopback (`0`: any free port).'),
  FREQUENCY_CAP: z
    .string()
    .regex(/^(\d+\/\d+(\.\d+)?(ms|s|m|h|d|w))?$/, 'must look like 1/16h')
    .default('1/16h')
    .describe('Most marketing emails per user per window, across journeys (`""` = no cap).'),
  FREQUENCY_CAP_MODE: z
    .enum(['defer', 'skip'])
    .default('defer')
    .describe('A capped send waits until a slot frees (`defer`) or is skipped.'),
  FREQUENCY_CAP_PRIORITY_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(250)
    .describe('Capped sends to one user this close together compete: the journey with the higher priority wins.'),
  QUIET_HOURS: z
    .string()
    .regex(/^(([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)?$/, 'must look like 21:00-08:00')
    .default('')
    .describe('Local hours without marketing email, in the user’s `timezone` trait (else `QUIET_HOURS_TZ`); sends wait; `""` = none.'),
  QUIET_HOURS_TZ: z.string().default('UTC').describe('IANA time zone for quiet hours of users without a `timezone` trait.'),
  TEST_USER_IDS: csv
    .default([])
    .describe('Test accounts by user id: their journeys run for real but mail only the capture mailbox, and analytics leave them out.'),
  TEST_EMAIL_PATTERN: z
    .string()
    .optional()
    .describe('Test accounts by email: a regular expression, case-insensitive (e.g. `@example\\.test$`).'),
  TRACK_OPENS: flag.describe('Add the open pixel to mail.'),
  TRACK_CLICKS: flag.describe('Rewrite links through `/t/c/` to record clicks.'),
}

const webhookEnv = {
  WEBHOOK_KEY: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .meta(
      doc(
        'The only key the bounce/complaint webhooks (`/webhooks/email/*`) accept: `X-Nudge-Webhook-Key`, `Authorization: Bearer`, or HTTP Basic password; never the admin key, never a `?key=` in the URL.',
        'webhooks refuse every report',
      ),
    ),
  SENDGRID_WEBHOOK_PUBLIC_KEY: z
    .string()
    .min(1)
    .optional()
    .meta(
      doc(
        'SendGrid’s Signed Event Webhook verification key (base64 as SendGrid shows it, or PEM; EC P-256). Set: every `/webhooks/email/sendgrid` request must be signed.',
        'SendGrid reports need no signature; the webhook key still applies',
      ),
    ),
  SNS_TOPIC_ARNS: csv
    .default([])
    .describe('Comma-separated SNS topic ARNs allowed to report SES events; empty = any topic (SNS signatures are always verified).'),
  WEBHOOK_MAX_AGE: z
    .string()
    .regex(DURATION_TEXT, 'must be a duration like 1h')
    .default('1h')
    .describe('A signed webhook (SNS `Timestamp`, SendGrid timestamp header) older than this is refused as a replay.'),
  TRUST_PROXY: z
    .string()
    .regex(
      /^(true|false|\d+|((loopback|linklocal|uniquelocal|(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F]*:[0-9a-fA-F:.]*)(\/\d{1,3})?)\s*(,\s*|$))+)?$/,
      'must be true, false, a hop count, or a list like loopback,10.0.0.0/8',
    )
    .default('')
    .describe(
      'Express `trust proxy`: which hops may set `X-Forwarded-For` (the client address feeds machine-open detection): `true`, a hop count (`1`), or names/CIDRs such as `loopback,10.0.0.0/8`; `""` or `false` = none.',
    ),
  METRICS_KEY: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .meta(doc('Set: `GET /metrics` needs `Authorization: Bearer <METRICS_KEY>`.', '`/metrics` is open')),
  SOFT_BOUNCE_LIMIT: positiveInt
    .default(3)
    .describe('Soft bounces within 30 days that suppress an address (hard bounces and complaints suppress at once).'),
}

const observabilityEnv = {
  TRIGGER_LATENCY_SLO: z
    .string()
    .regex(DURATION_TEXT, 'must be a duration like 5m')
    .default('5m')
    .describe('Latency SLO on what Nudge adds to a send (received → run started, plus lateness after the schedule).'),
  TRIGGER_LATENCY_SLOS: z
    .string()
    .regex(/^([\w.-]+:\d+(\.\d+)?(ms|s|m|h))?(,[\w.-]+:\d+(\.\d+)?(ms|s|m|h))*$/, 'must look like cart-abandonment:60s,browse:5m')
    .default('')
    .describe('Per-journey latency SLOs (`journey:duration,…`); other journeys use `TRIGGER_LATENCY_SLO`.'),
  STALE_TRIGGER_MAX_AGE: z
    .string()
    .regex(DURATION_TEXT, 'must be a duration like 24h')
    .default('24h')
    .describe('A trigger event older than this when it arrives is stale: it starts no run.'),
  DUPLICATE_WINDOW: z
    .string()
    .regex(DURATION_TEXT, 'must be a duration like 24h')
    .default('24h')
    .describe('Sends of one user, journey, step and key this close together are duplicates.'),
  FALSE_TRIGGER_CHECK_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(60_000)
    .describe('How often the false-trigger monitor checks new sends (`0` = never; the report still works on request).'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('`debug` logs every ingest flush, and memory every 5 s.'),
  SHUTDOWN_GRACE: z
    .string()
    .regex(DURATION_TEXT, 'must be a duration like 8s')
    .default('8s')
    .describe(
      'On Ctrl-C or SIGTERM, how long in-flight sends and steps may finish before they are cancelled (their runs resume after a restart); the worker is forced down 2 s later.',
    ),
}

const pollDoc =
  'How often the worker moves new segment changes, traits and outcomes into the destinations’ outbox and starts their deliveries (and how soon other processes see a destination change).'
const retryDoc =
  'First retry interval of a failed destination batch; it doubles up to 5 minutes, or waits what the server’s Retry-After asked.'
const destinationsEnv = {
  DESTINATIONS_POLL: z.string().regex(DURATION_TEXT, 'must be a duration like 2s').default('2s').describe(pollDoc),
  DESTINATIONS_RETRY_INITIAL: z.string().regex(DURATION_TEXT, 'must be a duration like 1s').default('1s').describe(retryDoc),
}

/** Sections of docs/configuration.md, in this order; the schema is their union. */
export const ENV_SECTIONS = {
  'Process and keys': serviceEnv,
  Temporal: temporalEnv,
  ClickHouse: storeEnv,
  'Secrets for stored contacts and links': keyEnv,
  Ingest: ingestEnv,
  'Segments, experiments and flags': segmentEnv,
  'Mail and sending policy': mailEnv,
  'Webhooks, proxies and metrics': webhookEnv,
  'Trigger latency, false triggers, logs and shutdown': observabilityEnv,
  Destinations: destinationsEnv,
  Kafka: kafkaEnv,
} as const

export const envSchema = z.object({
  ...serviceEnv,
  ...temporalEnv,
  ...storeEnv,
  ...keyEnv,
  ...ingestEnv,
  ...segmentEnv,
  ...mailEnv,
  ...webhookEnv,
  ...observabilityEnv,
  ...destinationsEnv,
  ...kafkaEnv,
})

export type Env = z.infer<typeof envSchema>
