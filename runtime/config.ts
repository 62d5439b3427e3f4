import { KEY_TEXT } from '../core/contactCipher.js'
import { parseDuration } from '../core/duration.js'
import { isTimeZone, parseWindow } from '../core/localTime.js'
import { parseSendGridPublicKey } from '../delivery/webhooks/sendGridSignature.js'
import { parseJourneySlos } from '../journeys/latencySlos.js'
import { type Env, envSchema } from './envSchema.js'

/**
 * All configuration comes from the environment (the schema and its documentation: envSchema.ts) and
 * is validated once at start. Every bad variable is reported by name with the rule it broke, all at once.
 */
export type { Env }
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

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(source)
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`))
  const env = result.data
  const problems: string[] = []
  checkSecrets(env, source.NODE_ENV === 'production', problems)
  const writeKeys = parseWriteKeys(env, problems)
  const adminKey = env.ADMIN_API_KEY ?? DEV_ADMIN_KEY
  checkKeysOpenOneDoor(env, adminKey, writeKeys, problems)
  const consent = parseConsent(env, problems)
  const loyaltyTiers = parseLoyaltyTiers(env, problems)
  const testEmailPattern = parseTestEmailPattern(env, problems)
  if (env.SENDGRID_WEBHOOK_PUBLIC_KEY)
    try {
      parseSendGridPublicKey(env.SENDGRID_WEBHOOK_PUBLIC_KEY)
    } catch (err) {
      problems.push(`SENDGRID_WEBHOOK_PUBLIC_KEY: must be SendGrid's verification key (base64 or PEM, EC P-256): ${(err as Error).message}`)
    }
  checkPreviousAdminKeys(env, adminKey, writeKeys, problems)
  if (env.CLICKHOUSE_CLUSTER && !env.CLICKHOUSE_URL)
    problems.push('CLICKHOUSE_CLUSTER: needs CLICKHOUSE_URL (the embedded engine, chdb, is one node in this process and has no cluster)')
  if (!isTimeZone(env.QUIET_HOURS_TZ)) problems.push(`QUIET_HOURS_TZ: "${env.QUIET_HOURS_TZ}" is not an IANA time zone`)
  if (problems.length) throw new ConfigError(problems)

  return {
    ...env,
    ADMIN_API_KEY: adminKey,
    mode: {
      temporal: env.TEMPORAL_ADDRESS ? 'external' : 'embedded',
      clickhouse: env.CLICKHOUSE_URL ? 'external' : 'embedded',
    },
    writeKeys,
    ...consent,
    loyaltyTiers,
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

/** Production needs its own keys; the 32-byte secrets must parse (KEY_TEXT: hex or base64). */
function checkSecrets(env: Env, production: boolean, problems: string[]): void {
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
}

/** WRITE_KEYS (`source:key` or bare keys) → key → source name; the dev key when unset. */
function parseWriteKeys(env: Env, problems: string[]): Map<string, string> {
  const writeKeys = new Map<string, string>()
  for (const entry of env.WRITE_KEYS ?? [DEV_WRITE_KEY]) {
    const colon = entry.indexOf(':')
    const [sourceName, key] = colon > 0 ? [entry.slice(0, colon), entry.slice(colon + 1)] : [`source${writeKeys.size + 1}`, entry]
    if (key.length < 6) problems.push(`WRITE_KEYS: key for "${sourceName}" must be at least 6 characters`)
    writeKeys.set(key, sourceName)
  }
  return writeKeys
}

/** The keys handed to other systems: the webhook key and the metrics key. */
const scopedKeys = (env: Env) =>
  [
    ['WEBHOOK_KEY', env.WEBHOOK_KEY],
    ['METRICS_KEY', env.METRICS_KEY],
  ] as const

/**
 * Each key opens one door. The webhook key sits in an ESP's console (often in its endpoint URL),
 * the metrics key in a scraper's config, write keys in every visitor's browser: one of them being
 * the admin key, or a public write key, would hand out more than its own door.
 */
function checkKeysOpenOneDoor(env: Env, adminKey: string, writeKeys: Map<string, string>, problems: string[]): void {
  for (const [name, key] of scopedKeys(env)) {
    if (!key) continue
    if (key === adminKey)
      problems.push(`${name}: must differ from ADMIN_API_KEY (it is handed to another system; the admin key would go with it)`)
    if (writeKeys.has(key)) problems.push(`${name}: must differ from every WRITE_KEYS key (write keys are public, in browsers and apps)`)
  }
  if (env.WEBHOOK_KEY && env.WEBHOOK_KEY === env.METRICS_KEY) problems.push('METRICS_KEY: must differ from WEBHOOK_KEY')
  if (writeKeys.has(adminKey)) problems.push('WRITE_KEYS: a write key must differ from ADMIN_API_KEY (write keys are public)')
}

/** A previous admin key still opens /api: it gets the same rules as the current one. */
function checkPreviousAdminKeys(env: Env, adminKey: string, writeKeys: Map<string, string>, problems: string[]): void {
  for (const old of env.ADMIN_API_KEY_PREVIOUS ?? []) {
    if (old.length < 8) problems.push('ADMIN_API_KEY_PREVIOUS: each key must be at least 8 characters')
    if (old === adminKey) problems.push('ADMIN_API_KEY_PREVIOUS: must not repeat ADMIN_API_KEY')
    if (writeKeys.has(old)) problems.push('ADMIN_API_KEY_PREVIOUS: must differ from every WRITE_KEYS key (write keys are public)')
    for (const [name, key] of scopedKeys(env))
      if (key && key === old) problems.push(`ADMIN_API_KEY_PREVIOUS: must differ from ${name} (it is handed to another system)`)
  }
}

function parseConsent(env: Env, problems: string[]): Pick<Config, 'consentDefaults' | 'consentCategoryMap'> {
  const consentDefaults: Record<string, boolean> = {}
  for (const [topic, state] of pairs(env.CONSENT_DEFAULTS, 'CONSENT_DEFAULTS', problems)) {
    if (state !== 'granted' && state !== 'denied') problems.push(`CONSENT_DEFAULTS: "${topic}" must be granted or denied`)
    consentDefaults[topic] = state === 'granted'
  }
  const consentCategoryMap: Record<string, string> = {}
  for (const [category, topic] of pairs(env.CONSENT_CATEGORY_MAP, 'CONSENT_CATEGORY_MAP', problems))
    consentCategoryMap[category.toLowerCase()] = topic
  return { consentDefaults, consentCategoryMap }
}

/** LOYALTY_TIERS (`gold:500,…`) → tiers by ascending minimum lifetime value. */
function parseLoyaltyTiers(env: Env, problems: string[]): Config['loyaltyTiers'] {
  const loyaltyTiers: Config['loyaltyTiers'] = []
  for (const [name, min] of pairs(env.LOYALTY_TIERS, 'LOYALTY_TIERS', problems)) {
    if (!Number.isFinite(Number(min))) problems.push(`LOYALTY_TIERS: "${name}" needs a number, e.g. gold:500`)
    loyaltyTiers.push({ name, minLtv: Number(min) })
  }
  return loyaltyTiers.sort((a, b) => a.minLtv - b.minLtv)
}

function parseTestEmailPattern(env: Env, problems: string[]): RegExp | undefined {
  if (!env.TEST_EMAIL_PATTERN) return undefined
  try {
    return new RegExp(env.TEST_EMAIL_PATTERN, 'i')
  } catch {
    problems.push('TEST_EMAIL_PATTERN: must be a regular expression, e.g. @example\\.test$')
    return undefined
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
