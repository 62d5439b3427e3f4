import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../runtime/config.js'

describe('configuration from the environment', () => {
  it('defaults to embedded mode with dev keys', () => {
    const c = loadConfig({})
    expect(c.mode).toEqual({ temporal: 'embedded', clickhouse: 'embedded' })
    expect(c.PORT).toBe(3000)
    expect(c.TEMPORAL_UI_PORT).toBe(8233)
    expect([...c.writeKeys.keys()]).toEqual(['wk_demo'])
  })

  it('scaled mode from TEMPORAL_ADDRESS and CLICKHOUSE_URL; several sources from WRITE_KEYS', () => {
    const c = loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233', CLICKHOUSE_URL: 'http://ch:8123', WRITE_KEYS: 'web:wk_web_1, ios:wk_ios_1' })
    expect(c.mode).toEqual({ temporal: 'external', clickhouse: 'external' })
    expect(Object.fromEntries(c.writeKeys)).toEqual({ wk_web_1: 'web', wk_ios_1: 'ios' })
  })

  it('reports every bad variable by name, with its rule, at once', () => {
    try {
      loadConfig({ PORT: 'eighty', TEMPORAL_ADDRESS: 'no-port', CLICKHOUSE_URL: 'not a url', INGEST_LINGER_MS: '-1' })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      const text = (err as ConfigError).problems.join('\n')
      for (const name of ['PORT', 'TEMPORAL_ADDRESS', 'CLICKHOUSE_URL', 'INGEST_LINGER_MS']) expect(text).toContain(name)
      expect(text).toContain('host:port')
    }
  })

  it('refuses dev defaults in production, and malformed consent settings', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/ADMIN_API_KEY[\s\S]*WRITE_KEYS/)
    expect(() => loadConfig({ CONSENT_DEFAULTS: 'marketing:maybe' })).toThrow(/granted or denied/)
    expect(() => loadConfig({ NUDGE_ENCRYPTION_KEY: 'xyz' })).toThrow(/NUDGE_ENCRYPTION_KEY/)
  })

  it('each key opens one door: the webhook and metrics keys differ from the admin key, from every (public) write key and from each other', () => {
    const admin = 'admin-key-0123456789'
    const base = { ADMIN_API_KEY: admin, WRITE_KEYS: 'web:wk_public_web_key' }
    expect(() => loadConfig({ ...base, WEBHOOK_KEY: admin })).toThrow(/WEBHOOK_KEY: must differ from ADMIN_API_KEY/)
    expect(() => loadConfig({ ...base, METRICS_KEY: admin })).toThrow(/METRICS_KEY: must differ from ADMIN_API_KEY/)
    expect(() => loadConfig({ ...base, WEBHOOK_KEY: 'wk_public_web_key' })).toThrow(/WEBHOOK_KEY: must differ from every WRITE_KEYS key/)
    expect(() => loadConfig({ ...base, WEBHOOK_KEY: 'same-scoped-key-123', METRICS_KEY: 'same-scoped-key-123' })).toThrow(
      /METRICS_KEY: must differ from WEBHOOK_KEY/,
    )
    expect(() => loadConfig({ ADMIN_API_KEY: admin, WRITE_KEYS: `web:${admin}` })).toThrow(
      /WRITE_KEYS: a write key must differ from ADMIN_API_KEY/,
    )
    const ok = loadConfig({ ...base, WEBHOOK_KEY: 'webhook-key-0123456789', METRICS_KEY: 'metrics-key-0123456789' })
    expect([ok.WEBHOOK_KEY, ok.METRICS_KEY]).toEqual(['webhook-key-0123456789', 'metrics-key-0123456789'])
  })

  it('origin security settings: TRUST_PROXY off unless set, webhook and metrics keys, SendGrid key checked at start', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const d = loadConfig({})
    expect(d.trustProxy).toBe(false)
    expect(d.WEBHOOK_KEY).toBeUndefined()
    expect(d.METRICS_KEY).toBeUndefined()
    expect(d.webhookMaxAgeMs).toBe(3_600_000)
    expect(d.SNS_TOPIC_ARNS).toEqual([])
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1)
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8')
    expect(loadConfig({ TRUST_PROXY: '::1,fc00::/7' }).trustProxy).toBe('::1,fc00::/7')
    for (const bad of ['yes please', 'face', '10.0.0/8', 'loopback;rm'])
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/)
    expect(() => loadConfig({ METRICS_KEY: 'short' })).toThrow(/METRICS_KEY/)
    expect(() => loadConfig({ WEBHOOK_MAX_AGE: 'an hour' })).toThrow(/WEBHOOK_MAX_AGE/)
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey
    expect(
      loadConfig({ SENDGRID_WEBHOOK_PUBLIC_KEY: ec.export({ format: 'der', type: 'spki' }).toString('base64') })
        .SENDGRID_WEBHOOK_PUBLIC_KEY,
    ).toBeTruthy()
    expect(
      loadConfig({ SENDGRID_WEBHOOK_PUBLIC_KEY: String(ec.export({ format: 'pem', type: 'spki' })) }).SENDGRID_WEBHOOK_PUBLIC_KEY,
    ).toBeTruthy()
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64')
    expect(() => loadConfig({ SENDGRID_WEBHOOK_PUBLIC_KEY: rsa })).toThrow(/SENDGRID_WEBHOOK_PUBLIC_KEY/)
    expect(() => loadConfig({ SENDGRID_WEBHOOK_PUBLIC_KEY: 'not a key' })).toThrow(/SENDGRID_WEBHOOK_PUBLIC_KEY/)
  })
})
