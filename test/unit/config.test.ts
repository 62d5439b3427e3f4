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
})
