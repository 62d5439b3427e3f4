import { describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { admin, post, uid, useTestNudge } from '../helpers/harness.js'
import { countRows, eventRows } from '../helpers/store.js'

/** Each case pins a bug found in review: the sequence that triggered it, and what must happen instead. */
describe('regressions', () => {
  const fx = useTestNudge({ env: { SEGMENT_SWEEP_INTERVAL_MS: '3600000' } })
  const segments = () => `${fx.nudge.url}/api/segments`

  it('a rule the engine cannot evaluate is refused with 400 at save, and nothing is stored', async () => {
    const res = await admin(segments(), 'POST', {
      id: 'broken',
      name: 'x',
      rule: { computed: { property: 'rfm_tier', op: 'eq', value: 5 } },
    })
    expect(res.status).toBe(400)
    expect(res.json.error.issues[0]).toMatchObject({ path: 'rule', rule: 'evaluable' })
    expect((await admin(`${segments()}/broken`)).status).toBe(404)
    const long = await admin(segments(), 'POST', { id: 'long', name: 'x', rule: { performed: { event: 'E', within: '999999999d' } } })
    expect(long.json.error.issues[0]).toMatchObject({ path: 'rule.performed.within', rule: 'max' })
  })

  it('a deleted and re-created segment survives a restart', async () => {
    const rule = { performed: { event: 'Order Completed' } }
    await admin(segments(), 'POST', { id: 'phoenix', name: 'v1', rule })
    await admin(`${segments()}/phoenix`, 'DELETE')
    const again = await admin(segments(), 'POST', { id: 'phoenix', name: 'v2', rule })
    expect(again.status).toBe(201)
    await fx.restart()
    expect((await admin(`${segments()}/phoenix`)).json).toMatchObject({ name: 'v2', version: 3 })
  })

  it('erasing twice: a link written again after the first erasure is erased by the second', async () => {
    const [user, anon] = [uid('u'), uid('a')]
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, anonymousId: anon })
    await admin(`${fx.nudge.url}/api/users/${user}`, 'DELETE')
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, anonymousId: anon })
    await post(`${fx.nudge.url}/v1/track`, { anonymousId: anon, event: 'Browsed' })
    await admin(`${fx.nudge.url}/api/users/${user}`, 'DELETE')
    expect(await countRows(fx.nudge.store.client, 'events', 'user_key IN {k:Array(String)}', { k: [user, anon] })).toBe(0)
  })

  it('a tracking decline made anonymously holds after sign-in (carried over on the link)', async () => {
    const [user, anon] = [uid('u'), uid('a')]
    await post(`${fx.nudge.url}/v1/page`, {
      anonymousId: anon,
      name: 'Home',
      context: { consent: { categoryPreferences: { Analytics: false } } },
    })
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, anonymousId: anon })
    const messageId = uid('m')
    await post(`${fx.nudge.url}/v1/track`, {
      messageId,
      userId: user,
      event: 'Product Viewed',
      properties: { sku: 'A' },
      context: { ip: '198.51.100.7' },
    })
    const [row] = await eventRows(fx.nudge.store.client, 'message_id = {id:String}', { id: messageId })
    expect(row).toMatchObject({ consent_limited: 1, properties: '{}', context: '{}' })
  })

  it('a consent choice dated in the future does not outrank a later withdrawal', async () => {
    const user = uid('u')
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, timestamp: '2099-01-01T00:00:00Z', traits: { consent: { marketing: true } } })
    const res = await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: user, topics: { marketing: false } })
    expect(res.json.consent.marketing).toBe(false)
  })

  it('identify moves the anonymous member out: one person is one member', async () => {
    const [user, anon] = [uid('u'), uid('a')]
    await admin(segments(), 'POST', { id: 'viewers', name: 'Viewers', rule: { performed: { event: 'Viewed It' } } })
    await post(`${fx.nudge.url}/v1/track`, { anonymousId: anon, event: 'Viewed It' })
    await fx.nudge.segments.idle()
    expect(fx.nudge.segments.segmentsOf(anon)).toContain('viewers')
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, anonymousId: anon })
    await fx.nudge.segments.idle()
    expect(fx.nudge.segments.segmentsOf(anon)).not.toContain('viewers')
    expect(fx.nudge.segments.segmentsOf(user)).toContain('viewers')
  })

  it('a consent change does not create a phantom member for the linked anonymous id', async () => {
    const [user, anon] = [uid('u'), uid('a')]
    await admin(segments(), 'POST', {
      id: 'mkt-declined',
      name: 'Declined marketing',
      rule: { consent: { topic: 'marketing', granted: false } },
    })
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, anonymousId: anon })
    await post(`${fx.nudge.url}/v1/track`, {
      userId: user,
      anonymousId: anon,
      event: 'Pref Changed',
      context: { consent: { categoryPreferences: { Advertising: false } } },
    })
    await fx.nudge.segments.idle()
    expect(fx.nudge.segments.segmentsOf(user)).toContain('mkt-declined')
    expect(fx.nudge.segments.segmentsOf(anon)).toEqual([])
  })

  it('a trait set back to null no longer exists, whether or not old rows were merged', async () => {
    const user = uid('u')
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, traits: { plan: 'pro' }, timestamp: '2026-01-01T00:00:00Z' })
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, traits: { plan: null }, timestamp: '2026-01-02T00:00:00Z' })
    const preview = await admin(`${segments()}/preview`, 'POST', {
      rule: { and: [{ trait: { key: 'plan', op: 'exists' } }, { performed: { type: 'identify' } }] },
      sample: 1000,
    })
    expect(preview.json.sample).not.toContain(user)
  })

  it('recent=0 returns no events, not all of them', async () => {
    const user = uid('u')
    await post(`${fx.nudge.url}/v1/track`, { userId: user, event: 'E' })
    expect((await admin(`${fx.nudge.url}/api/users/${user}?recent=0`)).json.recentEvents).toEqual([])
  })

  it('erasure returns under sustained ingest (drain waits only for what came before it)', async () => {
    const user = uid('u')
    await post(`${fx.nudge.url}/v1/track`, { userId: user, event: 'E' })
    let stop = false
    const flood = (async () => {
      while (!stop) await post(`${fx.nudge.url}/v1/track`, { userId: uid('flood'), event: 'Flood' })
    })()
    const res = await admin(`${fx.nudge.url}/api/users/${user}`, 'DELETE')
    stop = true
    await flood
    expect(res.status).toBe(200)
    const rows = await selectRows(fx.nudge.store.client, 'SELECT 1 FROM events WHERE user_key = {u:String}', { u: user })
    expect(rows).toEqual([])
  })
})
