import { describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { admin, post, uid, useTestNudge } from '../helpers/harness.js'
import { eventRows } from '../helpers/store.js'

describe('consent per user and topic, as a timeline; tracking consent limits what is stored', () => {
  const fx = useTestNudge()
  const timeline = (userKey: string) =>
    selectRows<{ topic: string; granted: number; source: string }>(
      fx.nudge.store.client,
      'SELECT topic, granted, source FROM consent WHERE user_key = {u:String} ORDER BY changed_at, topic',
      { u: userKey },
    )

  it('set via the API: every change is a timeline row, repetitions are not', async () => {
    const user = uid('u')
    expect((await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: user, topics: { marketing: false } })).json.consent).toMatchObject(
      {
        marketing: false,
        tracking: true,
      },
    )
    await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: user, topics: { marketing: false } })
    await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: user, topics: { marketing: true } })
    expect((await timeline(user)).map((r) => [r.topic, Number(r.granted), r.source])).toEqual([
      ['marketing', 0, 'api'],
      ['marketing', 1, 'api'],
    ])
    expect((await admin(`${fx.nudge.url}/api/consent/${user}`)).json.consent.marketing).toBe(true)
  })

  it('the consent API validates topic names and values', async () => {
    const res = await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: 'u', topics: { 'Not A Slug': 'yes' } })
    expect(res.status).toBe(400)
    expect(res.json.error.issues.length).toBeGreaterThan(0)
    const empty = await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: 'u', topics: {} })
    expect(empty.json.error.issues[0]).toMatchObject({ path: 'topics', rule: 'min' })
  })

  it('set via identify traits (traits.consent), which are not kept as a trait', async () => {
    const user = uid('u')
    await post(`${fx.nudge.url}/v1/identify`, { userId: user, traits: { name: 'Cy', consent: { marketing: false, tracking: true } } })
    expect((await timeline(user)).map((r) => [r.topic, Number(r.granted), r.source])).toEqual([
      ['marketing', 0, 'identify'],
      ['tracking', 1, 'identify'],
    ])
    const profile = await admin(`${fx.nudge.url}/api/users/${user}`)
    expect(profile.json.traits).toEqual({ name: 'Cy' })
  })

  it("set via a CMP's context.consent.categoryPreferences, mapped to topics", async () => {
    const user = uid('u')
    await post(`${fx.nudge.url}/v1/page`, {
      userId: user,
      name: 'Home',
      context: { consent: { categoryPreferences: { Advertising: false, Analytics: true, Functional: true } } },
    })
    const rows = await timeline(user)
    expect(rows.map((r) => [r.topic, Number(r.granted), r.source])).toEqual([
      ['functional', 1, 'cmp'],
      ['marketing', 0, 'cmp'],
      ['tracking', 1, 'cmp'],
    ])
  })

  it('withheld tracking: later events keep only ids, type, name and times — no properties or context', async () => {
    const user = uid('u')
    await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: user, topics: { tracking: false } })
    const messageId = uid('m')
    await post(`${fx.nudge.url}/v1/track`, {
      messageId,
      userId: user,
      event: 'Product Viewed',
      properties: { sku: 'A1', url: '/p/a1' },
      context: { ip: '203.0.113.9', page: { url: '/p/a1' } },
    })
    const [row] = await eventRows(fx.nudge.store.client, 'message_id = {id:String}', { id: messageId })
    expect(row).toMatchObject({ event: 'Product Viewed', user_id: user, properties: '{}', context: '{}', consent_limited: 1 })
  })

  it('a CMP decline in the same event applies to that event itself', async () => {
    const anon = uid('a')
    const messageId = uid('m')
    await post(`${fx.nudge.url}/v1/page`, {
      messageId,
      anonymousId: anon,
      name: 'Landing',
      properties: { url: '/landing?utm=x' },
      context: { consent: { categoryPreferences: { Analytics: false } } },
    })
    const [row] = await eventRows(fx.nudge.store.client, 'message_id = {id:String}', { id: messageId })
    expect(row).toMatchObject({ consent_limited: 1, properties: '{}', name: '' })
  })

  it('granting tracking again restores full events', async () => {
    const user = uid('u')
    await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: user, topics: { tracking: false } })
    await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: user, topics: { tracking: true } })
    const messageId = uid('m')
    await post(`${fx.nudge.url}/v1/track`, { messageId, userId: user, event: 'Viewed', properties: { sku: 'B2' } })
    const [row] = await eventRows(fx.nudge.store.client, 'message_id = {id:String}', { id: messageId })
    expect(row).toMatchObject({ consent_limited: 0, properties: '{"sku":"B2"}' })
  })

  it('consent survives a restart (loaded from the timeline)', async () => {
    const user = uid('u')
    await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: user, topics: { tracking: false } })
    await fx.restart()
    const messageId = uid('m')
    await post(`${fx.nudge.url}/v1/track`, { messageId, userId: user, event: 'After Restart', properties: { x: 1 } })
    const [row] = await eventRows(fx.nudge.store.client, 'message_id = {id:String}', { id: messageId })
    expect(row!.consent_limited).toBe(1)
  })
})
