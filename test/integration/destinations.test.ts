import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { admin, post, uid, useTestNudge } from '../helpers/harness.js'
import { startFakeWebhookServer } from '../helpers/fakeWebhookServer.js'
import { type FakeHubspot, startFakeHubspotServer } from '../helpers/fakeHubspotServer.js'

/**
 * Destinations end to end on the real thing: Nudge (role all: API, worker, Temporal dev server,
 * chdb) delivering segment changes, traits and outcomes to receivers on loopback that speak each
 * destination's documented shape, through its error modes.
 */
const SECRET = 'whsec_integration_secret_0123'
const TOKEN = 'pat-na1-integration'

async function waitFor<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('destinations', () => {
  let hook: Awaited<ReturnType<typeof startFakeWebhookServer>>
  let flaky: Awaited<ReturnType<typeof startFakeWebhookServer>>
  let consentSrv: Awaited<ReturnType<typeof startFakeWebhookServer>>
  let hs: FakeHubspot
  beforeAll(async () => {
    hook = await startFakeWebhookServer(SECRET)
    flaky = await startFakeWebhookServer(SECRET)
    consentSrv = await startFakeWebhookServer(SECRET)
    hs = await startFakeHubspotServer(TOKEN)
  })
  afterAll(async () => {
    await hook.close()
    await flaky.close()
    await consentSrv.close()
    await hs.close()
  })
  const fx = useTestNudge({
    role: 'all',
    env: { DESTINATIONS_POLL: '200ms', DESTINATIONS_RETRY_INITIAL: '100ms', SEGMENT_BATCH_MS: '10' },
  })
  const api = (path = '') => `${fx.nudge.url}/api/destinations${path}`
  const track = (userId: string, event: string) => post(`${fx.nudge.url}/v1/track`, { userId, event, messageId: uid('m') })
  const webhook = (id: string, url: string, extra: Record<string, unknown> = {}) => ({
    id,
    name: `webhook ${id}`,
    kind: 'webhook',
    records: { segments: { segments: ['dest-buyers'] }, traits: { properties: ['event_count'] } },
    config: { url: `${url}/hooks/nudge`, secret: SECRET },
    timeoutMs: 1000,
    ...extra,
  })
  const forUser = (server: typeof hook, user: string) => [...server.deliveries.values()].filter((d) => d.userId === user)

  it('a segment to follow', async () => {
    const res = await admin(`${fx.nudge.url}/api/segments`, 'POST', {
      id: 'dest-buyers',
      name: 'Started a checkout',
      rule: { performed: { event: 'Checkout Started', within: '7d' } },
    })
    expect(res.status).toBe(201)
  })

  it('CRUD: created with its secret masked, listed, refused with the field and rule named, conflicts, unknown ids', async () => {
    const created = await admin(api(), 'POST', webhook('crm-hook', hook.url))
    expect(created.status).toBe(201)
    expect(created.json).toMatchObject({ id: 'crm-hook', kind: 'webhook', version: 1, enabled: true, rateLimitPerSecond: 10 })
    expect(created.json.config.secret).toBe(`${'*'.repeat(12)}0123`)
    expect(JSON.stringify((await admin(api())).json)).not.toContain(SECRET)
    expect((await admin(api(), 'POST', webhook('crm-hook', hook.url))).status).toBe(409)
    const badUrl = await admin(api(), 'POST', webhook('x', 'http://example.com'))
    expect(badUrl.status).toBe(400)
    expect(badUrl.json.error.issues).toContainEqual(expect.objectContaining({ path: 'config.url', rule: 'https' }))
    const noRecords = await admin(api(), 'POST', { ...webhook('y', hook.url), records: {} })
    expect(noRecords.json.error.issues).toContainEqual(expect.objectContaining({ path: 'records', rule: 'min' }))
    const badTrait = await admin(api(), 'POST', {
      ...webhook('z', hook.url),
      config: { url: `${hook.url}/h`, secret: SECRET, mapping: { a: 'traits.nope' } },
    })
    expect(badTrait.json.error.issues).toContainEqual(expect.objectContaining({ path: 'config.mapping.a', rule: 'computed_property' }))
    const badKind = await admin(api(), 'POST', { ...webhook('w', hook.url), kind: 'fax' })
    expect(badKind.status).toBe(400)
    expect((await admin(api('/nope'))).status).toBe(404)
    // The stored secret is sealed at rest, never in clear.
    const [row] = await selectRows<{ d: string }>(fx.nudge.store.client, "SELECT definition AS d FROM destinations WHERE id = 'crm-hook'")
    expect(row!.d).not.toContain(SECRET)
  })

  it('a PUT that sends the masked secret back keeps the stored one', async () => {
    const current = (await admin(api('/crm-hook'))).json
    const { version: _v, updatedAt: _u, ...def } = current
    const res = await admin(api('/crm-hook'), 'PUT', { ...def, name: 'renamed' })
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ name: 'renamed', version: 2 })
    expect(fx.nudge.destinations.admin.get('crm-hook').definition.config).toMatchObject({ secret: SECRET })
  })

  it('a segment entry and the computed traits after it reach the webhook, signed, in order', async () => {
    const user = uid('u')
    await track(user, 'Checkout Started')
    const got = await waitFor('entry + traits', () => (forUser(hook, user).length >= 2 ? forUser(hook, user) : undefined))
    expect(got.map((d) => d.type)).toEqual(['segment_entered', 'traits'])
    expect(got[0]).toMatchObject({ event: 'Segment Entered', properties: { segmentId: 'dest-buyers' } })
    expect(got[1].properties.traits).toEqual({ event_count: 1 })
  })

  it('429 with Retry-After: the batch waits what the server asked, then delivers; the report counts the retry', async () => {
    hook.fail({ status: 429, retryAfter: '1' })
    const user = uid('u')
    const before = hook.all.length
    await track(user, 'Checkout Started')
    await waitFor('delivery after 429', () => (forUser(hook, user).length >= 2 ? true : undefined))
    const attempts = hook.all.slice(before)
    expect(attempts[0]!.json.userId).toBe(user)
    const retriedAt = attempts.find((a, i) => i > 0 && a.json.id === attempts[0]!.json.id)!.at
    expect(retriedAt - attempts[0]!.at).toBeGreaterThanOrEqual(950)
    // The receiver has the retried record before the batch writes its states: wait for the outbox.
    const report = await waitFor('report after delivery', async () => {
      const row = (await admin(api('/report'))).json.destinations.find((r: { destinationId: string }) => r.destinationId === 'crm-hook')
      return row?.delivered >= 4 ? row : undefined
    })
    expect(report).toMatchObject({ retried: expect.any(Number), deadLettered: 0 })
    expect(report.retried).toBeGreaterThanOrEqual(1)
    expect(report.delivered).toBeGreaterThanOrEqual(4)
  })

  it('a receiver down past every attempt: dead letters in the API, replayed once it is back', async () => {
    flaky.failAlways({ status: 503 })
    expect((await admin(api(), 'POST', webhook('flaky-hook', flaky.url, { maxAttempts: 2 }))).status).toBe(201)
    const user = uid('u')
    await track(user, 'Checkout Started')
    // A new destination also takes the last 30 s of facts (the feeder's overlap): earlier users' records are there too.
    const dead = await waitFor('dead letters', async () => {
      const res = await admin(api('/flaky-hook/dead-letters'))
      const mine = res.json.deadLetters.filter((d: { userId: string }) => d.userId === user)
      return mine.length >= 2 ? mine : undefined
    })
    expect(dead[0]).toMatchObject({ kind: 'segment_entered', userId: user, lastError: expect.stringContaining('503') })
    expect(flaky.all.length).toBeGreaterThanOrEqual(2)
    flaky.heal()
    const replay = await admin(api('/flaky-hook/dead-letters/replay'), 'POST', {})
    expect(replay.json.replayed).toBeGreaterThanOrEqual(2)
    const got = await waitFor('replayed', () => (forUser(flaky, user).length >= 2 ? forUser(flaky, user) : undefined))
    expect(got.map((d) => d.type)).toEqual(['segment_entered', 'traits'])
    expect((await admin(api('/flaky-hook/dead-letters'))).json.deadLetters).toEqual([])
  })

  it('a permanent refusal (4xx) dead-letters at once, without retries', async () => {
    flaky.fail({ status: 422, body: '{"message":"unprocessable"}' })
    const user = uid('u')
    const before = flaky.all.length
    await track(user, 'Checkout Started')
    const dead = await waitFor('dead letter', async () => {
      const res = await admin(api('/flaky-hook/dead-letters'))
      return res.json.deadLetters.find((d: { userId: string }) => d.userId === user)
    })
    expect(dead).toMatchObject({ attempts: 1, lastError: expect.stringContaining('422') })
    await waitFor('the traits record still goes', () => (forUser(flaky, user).length >= 1 ? true : undefined))
    expect(flaky.all.slice(before).filter((r) => r.json?.userId === user && r.json?.type === 'segment_entered')).toHaveLength(1)
  })

  it('a user who withdrew the destination’s consent topic: nothing about them leaves', async () => {
    const def = { ...webhook('consent-hook', consentSrv.url), consentTopics: ['marketing'] }
    expect((await admin(api(), 'POST', def)).status).toBe(201)
    const optedOut = uid('u')
    const optedIn = uid('u')
    expect((await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: optedOut, topics: { marketing: false } })).status).toBe(200)
    await track(optedOut, 'Checkout Started')
    await track(optedIn, 'Checkout Started')
    await waitFor('the consenting user', () => (forUser(consentSrv, optedIn).length >= 2 ? true : undefined))
    // crm-hook asks for `tracking` consent only: the opted-out user's records still go there.
    await waitFor('the other destination', () => (forUser(hook, optedOut).length >= 2 ? true : undefined))
    expect(forUser(consentSrv, optedOut)).toEqual([])
    const rows = await selectRows<{ n: string }>(
      fx.nudge.store.client,
      "SELECT count() AS n FROM destination_outbox FINAL WHERE destination_id = 'consent-hook' AND user_key = {u:String}",
      { u: optedOut },
    )
    expect(Number(rows[0]!.n)).toBe(0)
  })

  it('HubSpot: contact properties and a custom event; erasure sends the GDPR delete and purges the outbox', async () => {
    const res = await admin(api(), 'POST', {
      id: 'hubspot',
      name: 'HubSpot',
      kind: 'hubspot',
      records: { segments: { segments: ['dest-buyers'] } },
      config: {
        baseUrl: hs.url,
        accessToken: TOKEN,
        mapping: { nudge_segment: 'segmentId' },
        events: { segment_entered: 'pe1_nudge_segment_entered' },
      },
    })
    expect(res.status).toBe(201)
    const user = uid('u')
    await track(user, 'Checkout Started')
    const contact = await waitFor('contact', () => hs.contacts.get(user))
    expect(contact.properties).toEqual({ nudge_segment: 'dest-buyers' })
    await waitFor('event', () => hs.events.find((e) => e.objectId === contact.id))
    // Every destination has delivered this user's records (no batch in flight during the erasure).
    await waitFor('the other destinations', () =>
      forUser(hook, user).length >= 2 && forUser(flaky, user).length >= 2 && forUser(consentSrv, user).length >= 2 ? true : undefined,
    )
    expect((await admin(`${fx.nudge.url}/api/users/${user}`, 'DELETE')).status).toBeLessThan(300)
    expect(hs.deleted).toContain(user)
    const rows = await selectRows<{ n: string }>(
      fx.nudge.store.client,
      'SELECT count() AS n FROM destination_outbox WHERE user_key = {u:String}',
      {
        u: user,
      },
    )
    expect(Number(rows[0]!.n)).toBe(0)
  })

  it('metrics per destination, and a deleted destination is gone with its records', async () => {
    const metrics = await (await fetch(`${fx.nudge.url}/metrics`)).text()
    expect(metrics).toMatch(/nudge_destination_records_total\{destination="crm-hook",outcome="delivered"\} \d+/)
    expect(metrics).toMatch(/nudge_destination_retries_total\{destination="crm-hook"\} \d+/)
    expect((await admin(api('/flaky-hook'), 'DELETE')).status).toBe(204)
    expect((await admin(api('/flaky-hook'))).status).toBe(404)
    const rows = await selectRows<{ n: string }>(
      fx.nudge.store.client,
      "SELECT count() AS n FROM destination_outbox WHERE destination_id = 'flaky-hook'",
    )
    expect(Number(rows[0]!.n)).toBe(0)
  })
})
