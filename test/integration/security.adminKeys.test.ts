import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../runtime/config.js'
import { ADMIN_KEY, useTestNudge } from '../helpers/harness.js'

// Rotating the admin key: the previous one keeps working until it is removed from the setting.
const OLD = 'admin_old_key_rotating'

describe('admin key rotation', () => {
  const fx = useTestNudge({ env: { ADMIN_API_KEY_PREVIOUS: OLD } })
  const get = (key: string) => fetch(`${fx.nudge.url}/api/segments`, { headers: { authorization: `Bearer ${key}` } })

  it('the current key and ADMIN_API_KEY_PREVIOUS both open /api; any other key, or none, is a 401', async () => {
    expect((await get(ADMIN_KEY)).status).toBe(200)
    expect((await get(OLD)).status).toBe(200)
    expect((await get(`${OLD}x`)).status).toBe(401)
    expect((await get(OLD.slice(0, -1))).status).toBe(401)
    expect((await fetch(`${fx.nudge.url}/api/segments`)).status).toBe(401)
  })

  it('a previous key that repeats the current one, or is too short, is refused at start', () => {
    expect(() => loadConfig({ ADMIN_API_KEY: 'admin_current_1', ADMIN_API_KEY_PREVIOUS: 'admin_current_1' })).toThrow(
      /ADMIN_API_KEY_PREVIOUS: must not repeat ADMIN_API_KEY/,
    )
    expect(() => loadConfig({ ADMIN_API_KEY: 'admin_current_1', ADMIN_API_KEY_PREVIOUS: 'short' })).toThrow(
      /ADMIN_API_KEY_PREVIOUS: each key must be at least 8 characters/,
    )
    // A previous admin key still opens /api: never one that is public or handed to another system.
    expect(() =>
      loadConfig({ ADMIN_API_KEY: 'admin_current_1', WRITE_KEYS: 'web:wk_public_key', ADMIN_API_KEY_PREVIOUS: 'wk_public_key' }),
    ).toThrow(/ADMIN_API_KEY_PREVIOUS: must differ from every WRITE_KEYS key/)
    expect(() =>
      loadConfig({ ADMIN_API_KEY: 'admin_current_1', WEBHOOK_KEY: 'whk_0123456789abcdef', ADMIN_API_KEY_PREVIOUS: 'whk_0123456789abcdef' }),
    ).toThrow(/ADMIN_API_KEY_PREVIOUS: must differ from WEBHOOK_KEY/)
  })
})
