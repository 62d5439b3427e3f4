import { describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { admin, post, uid, useTestNudge } from '../helpers/harness.js'
import { countRows } from '../helpers/store.js'

describe('identity, profiles, minimisation, export and erasure', () => {
  const fx = useTestNudge()

  it('a user’s history includes what they did while anonymous (identify links the ids)', async () => {
    const anon = uid('a')
    const user = uid('u')
    await post(`${fx.nudge.url}/v1/page`, { anonymousId: anon, name: 'Home', timestamp: '2026-01-01T10:00:00.000Z' })
    await post(`${fx.nudge.url}/v1/track`, { anonymousId: anon, event: 'Product Viewed', timestamp: '2026-01-01T10:01:00.000Z' })
    await post(`${fx.nudge.url}/v1/identify`, {
      anonymousId: anon,
      userId: user,
      traits: { name: 'Dee' },
      timestamp: '2026-01-01T10:02:00.000Z',
    })
    await post(`${fx.nudge.url}/v1/track`, { userId: user, event: 'Order Completed', timestamp: '2026-01-01T10:05:00.000Z' })
    const res = await admin(`${fx.nudge.url}/api/users/${user}`)
    expect(res.status).toBe(200)
    expect(res.json.identities.map((i: { anonymousId: string }) => i.anonymousId)).toEqual([anon])
    expect(res.json.recentEvents.map((e: { type: string; event: string; name: string }) => e.event || e.name || e.type)).toEqual([
      'Order Completed',
      'identify',
      'Product Viewed',
      'Home',
    ])
  })

  it('alias links a previous id to the user', async () => {
    const old = uid('old')
    const user = uid('u')
    await post(`${fx.nudge.url}/v1/track`, { userId: old, event: 'Signed Up' })
    await post(`${fx.nudge.url}/v1/alias`, { previousId: old, userId: user })
    const res = await admin(`${fx.nudge.url}/api/users/${user}`)
    expect(res.json.identities).toEqual([expect.objectContaining({ anonymousId: old, kind: 'alias' })])
    expect(res.json.recentEvents.some((e: { event: string }) => e.event === 'Signed Up')).toBe(true)
  })

  it('traits: latest wins per trait, partial identifies merge', async () => {
    const user = uid('u')
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, traits: { plan: 'free', city: 'Oslo' }, timestamp: '2026-01-01T00:00:00Z' })
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, traits: { plan: 'pro' }, timestamp: '2026-01-02T00:00:00Z' })
    // An out-of-order older identify does not overwrite the newer value.
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, traits: { plan: 'trial' }, timestamp: '2025-12-31T00:00:00Z' })
    expect((await admin(`${fx.nudge.url}/api/users/${user}`)).json.traits).toEqual({ plan: 'pro', city: 'Oslo' })
  })

  it('contact details live in the profile only, encrypted at rest; never in event rows', async () => {
    const user = uid('u')
    const messageId = uid('m')
    await post(`${fx.nudge.url}/v1/identify`, {
      messageId,
      userId: user,
      traits: { email: 'Eve@Example.com', phone: '+47 555 12 345', name: 'Eve' },
    })
    await post(`${fx.nudge.url}/v1/track`, {
      userId: user,
      event: 'Newsletter',
      properties: { email: 'eve@example.com' },
      context: { traits: { email: 'eve@example.com' } },
    })
    const events = await selectRows<{ all: string }>(
      fx.nudge.store.client,
      `SELECT concat(properties, traits, context) AS all FROM events WHERE user_id = {u:String}`,
      { u: user },
    )
    for (const e of events) expect(e.all.toLowerCase()).not.toContain('eve@example.com')
    const [stored] = await selectRows<{ value_enc: string }>(
      fx.nudge.store.client,
      `SELECT value_enc FROM contacts WHERE user_key = {u:String} AND kind = 'email'`,
      { u: user },
    )
    expect(stored!.value_enc).toMatch(/^v1\./)
    expect(stored!.value_enc).not.toContain('Eve')
    const profile = await admin(`${fx.nudge.url}/api/users/${user}`)
    // The later event's context.traits email is the newest value of the contact.
    expect(profile.json.contacts).toEqual({ email: 'e***@example.com', phone: '***2345' })
    expect(profile.json.traits).toEqual({ name: 'Eve' })
  })

  it('configured keys (card numbers, passwords) are dropped at any depth', async () => {
    const user = uid('u')
    const messageId = uid('m')
    await post(`${fx.nudge.url}/v1/track`, {
      messageId,
      userId: user,
      event: 'Checkout Step',
      properties: { card_number: '4111111111111111', payment: { CVV: '123', method: 'card' }, items: [{ sku: 'A', password: 'x' }] },
    })
    const [row] = await selectRows<{ properties: string }>(
      fx.nudge.store.client,
      'SELECT properties FROM events WHERE message_id = {id:String}',
      { id: messageId },
    )
    expect(JSON.parse(row!.properties)).toEqual({ payment: { method: 'card' }, items: [{ sku: 'A' }] })
  })

  it('export returns everything held, contacts decrypted', async () => {
    const user = uid('u')
    const anon = uid('a')
    await post(`${fx.nudge.url}/v1/track`, { anonymousId: anon, event: 'Browsed' })
    await post(`${fx.nudge.url}/v1/identify`, { anonymousId: anon, userId: user, traits: { email: 'fay@example.com', tier: 'gold' } })
    await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: user, topics: { marketing: true } })
    const res = await admin(`${fx.nudge.url}/api/users/${user}/export`)
    expect(res.status).toBe(200)
    expect(res.json.profile).toEqual({ traits: { tier: 'gold' }, contacts: { email: 'fay@example.com' } })
    expect(res.json.events.map((e: { type: string }) => e.type).sort()).toEqual(['identify', 'track'])
    expect(res.json.consent.timeline).toEqual([expect.objectContaining({ topic: 'marketing', granted: true, source: 'api' })])
  })

  it('erasure removes the user (and their anonymous history) from every table', async () => {
    const user = uid('u')
    const anon = uid('a')
    const other = uid('u')
    await post(`${fx.nudge.url}/v1/page`, { anonymousId: anon, name: 'Home' })
    await post(`${fx.nudge.url}/v1/identify`, { anonymousId: anon, userId: user, traits: { email: 'gus@example.com', name: 'Gus' } })
    await post(`${fx.nudge.url}/v1/track`, { userId: user, event: 'Order Completed' })
    await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: user, topics: { marketing: false } })
    await post(`${fx.nudge.url}/v1/track`, { userId: other, event: 'Unrelated' })

    const res = await admin(`${fx.nudge.url}/api/users/${user}`, 'DELETE')
    expect(res.status).toBe(200)
    expect(res.json.rowsDeleted).toBeGreaterThanOrEqual(7)

    const c = fx.nudge.store.client
    const keys = { keys: [user, anon] }
    expect(await countRows(c, 'events', 'user_key IN {keys:Array(String)}', keys)).toBe(0)
    expect(await countRows(c, 'traits', 'user_key IN {keys:Array(String)}', keys)).toBe(0)
    expect(await countRows(c, 'contacts', 'user_key IN {keys:Array(String)}', keys)).toBe(0)
    expect(await countRows(c, 'consent', 'user_key IN {keys:Array(String)}', keys)).toBe(0)
    expect(await countRows(c, 'identities', 'user_id = {u:String}', { u: user })).toBe(0)
    expect(await countRows(c, 'events', 'user_key = {u:String}', { u: other })).toBe(1)
    // The erasure log proves it happened without naming the person.
    const [log] = await selectRows<{ user_hash: string; rows_deleted: number }>(
      c,
      'SELECT user_hash, rows_deleted FROM erasures ORDER BY erased_at DESC LIMIT 1',
    )
    expect(log!.user_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(log!.user_hash).not.toContain(user)
    expect((await admin(`${fx.nudge.url}/api/users/${user}`)).status).toBe(404)
    expect((await admin(`${fx.nudge.url}/api/users/${user}/export`)).status).toBe(404)
  })

  it('unknown users → 404 with a clear message', async () => {
    const res = await admin(`${fx.nudge.url}/api/users/${uid('nobody')}`)
    expect(res.status).toBe(404)
    expect(res.json.error.code).toBe('not_found')
  })
})
