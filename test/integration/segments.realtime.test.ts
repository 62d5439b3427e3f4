import { describe, expect, it } from 'vitest'
import type { Transition } from '../../segments/membershipStore.js'
import { selectRows } from '../../clickhouse/store.js'
import { admin, post, uid, useTestNudge } from '../helpers/harness.js'

// Both evaluation modes must behave the same: facts in memory (live) and a scoped query (sql).
describe.each(['live', 'sql'])('segments (%s): API, real-time membership from ingested events, sweep, references', (mode) => {
  // A long sweep interval: the tests call the sweep themselves, when time has done its work.
  const fx = useTestNudge({ env: { SEGMENT_SWEEP_INTERVAL_MS: '3600000', SEGMENT_BATCH_MS: '10', SEGMENT_EVALUATION: mode } })

  it('runs in the mode asked for', () => {
    expect(fx.nudge.segments.isLive).toBe(mode === 'live')
  })
  const seen: Transition[] = []
  const segmentsUrl = () => `${fx.nudge.url}/api/segments`
  const track = (userId: string, event: string, properties: Record<string, unknown> = {}) =>
    post(`${fx.nudge.url}/v1/track`, { userId, event, properties, messageId: uid('m') })

  it('creates a segment (membership computed before the answer), lists and reads it', async () => {
    fx.nudge.segments.onTransition((t) => seen.push(t))
    const viewer = uid('u')
    await track(viewer, 'Product Viewed')
    await fx.nudge.segments.idle()
    const res = await admin(segmentsUrl(), 'POST', {
      id: 'viewed-7d',
      name: 'Viewed a product within 7 days',
      rule: { performed: { event: 'Product Viewed', within: '7d' } },
    })
    expect(res.status).toBe(201)
    expect(res.json).toMatchObject({ id: 'viewed-7d', version: 1, size: 1 })
    expect((await admin(`${segmentsUrl()}/viewed-7d`)).json.size).toBe(1)
    expect((await admin(segmentsUrl())).json.segments.map((s: { id: string }) => s.id)).toContain('viewed-7d')
    expect(seen).toContainEqual(expect.objectContaining({ segmentId: 'viewed-7d', userKey: viewer, entered: true, cause: 'definition' }))
  })

  it('an ingested event moves its user into the segment within a second, with the cause recorded', async () => {
    const user = uid('u')
    const started = Date.now()
    const messageId = uid('m')
    await post(`${fx.nudge.url}/v1/track`, { userId: user, event: 'Product Viewed', messageId })
    await fx.nudge.segments.idle()
    const t = seen.find((x) => x.userKey === user && x.segmentId === 'viewed-7d')
    expect(t).toMatchObject({ entered: true, cause: 'event', triggerMessageId: messageId })
    expect(t!.at - started).toBeLessThan(1000) // correctness: the transition is recorded, not eventually
    const [row] = await selectRows<{ cause: string; trigger_message_id: string }>(
      fx.nudge.store.client,
      'SELECT cause, trigger_message_id FROM segment_transitions WHERE user_key = {u:String}',
      { u: user },
    )
    expect(row).toEqual({ cause: 'event', trigger_message_id: messageId })
    const profile = await admin(`${fx.nudge.url}/api/users/${user}`)
    expect(profile.json.segments).toEqual(['viewed-7d'])
    expect(profile.json.computed).toMatchObject({ event_count: 1, order_count: 0, rfm_tier: 'none', loyalty_tier: 'none' })
  })

  it('an unrelated event does not touch the segment', async () => {
    const user = uid('u')
    const before = seen.length
    await track(user, 'Newsletter Signup')
    await fx.nudge.segments.idle()
    expect(seen.slice(before).filter((t) => t.userKey === user)).toEqual([])
  })

  it('time alone: the sweep records exits when a window expires and entries when "no checkout within T" comes true', async () => {
    await admin(segmentsUrl(), 'POST', {
      id: 'viewed-1s',
      name: 'Viewed in the last 3 seconds',
      rule: { performed: { event: 'Product Viewed', within: '3s' } },
    })
    await admin(segmentsUrl(), 'POST', {
      id: 'cart-abandoned',
      name: 'Added to cart, no checkout within 3 s',
      rule: { sequence: { first: { event: 'Product Added' }, then: { event: 'Order Completed' }, within: '3s', sameProperty: 'cartId' } },
    })
    const [quick, abandoner, buyer] = [uid('u'), uid('u'), uid('u')]
    await track(quick, 'Product Viewed')
    await track(abandoner, 'Product Added', { cartId: 'c1' })
    await track(buyer, 'Product Added', { cartId: 'c2' })
    await track(buyer, 'Order Completed', { cartId: 'c2' })
    await fx.nudge.segments.idle()
    expect(fx.nudge.segments.segmentsOf(quick)).toContain('viewed-1s')
    expect(fx.nudge.segments.segmentsOf(abandoner)).not.toContain('cart-abandoned')

    await new Promise((r) => setTimeout(r, 3300))
    await fx.nudge.segments.sweep()
    expect(fx.nudge.segments.segmentsOf(quick)).not.toContain('viewed-1s')
    expect(fx.nudge.segments.segmentsOf(abandoner)).toContain('cart-abandoned')
    expect(fx.nudge.segments.segmentsOf(buyer)).not.toContain('cart-abandoned')
    expect(seen).toContainEqual(expect.objectContaining({ segmentId: 'viewed-1s', userKey: quick, entered: false, cause: 'sweep' }))
    expect(fx.nudge.segments.sweepStatus.lagMs).toBeGreaterThan(0)
    // Both were swept incrementally: only users whose events crossed a window were evaluated.
    expect(fx.nudge.segments.sweepStatus.incremental).toBe(fx.nudge.segments.sweepStatus.segments)
  })

  it('the incremental sweep also finds entries that time causes (a negated window)', async () => {
    await admin(segmentsUrl(), 'POST', {
      id: 'signed-up-idle',
      name: 'Signed up, no product view in the last second',
      rule: { and: [{ performed: { event: 'Signed Up' } }, { not: { performed: { event: 'Product Viewed', within: '3s' } } }] },
    })
    const user = uid('u')
    await track(user, 'Signed Up')
    await track(user, 'Product Viewed')
    await fx.nudge.segments.idle()
    expect(fx.nudge.segments.segmentsOf(user)).not.toContain('signed-up-idle')
    await new Promise((r) => setTimeout(r, 3300))
    await fx.nudge.segments.sweep()
    expect(fx.nudge.segments.segmentsOf(user)).toContain('signed-up-idle')
    expect(seen).toContainEqual(expect.objectContaining({ segmentId: 'signed-up-idle', userKey: user, entered: true, cause: 'sweep' }))
  })

  it('invalid rules → 400 with the JSON path; cycles and unknown references → 400; duplicates → 409', async () => {
    const bad = await admin(segmentsUrl(), 'POST', {
      id: 'bad',
      name: 'Bad',
      rule: { and: [{ performed: { event: 'X', count: { gte: 'many' } } }] },
    })
    expect(bad.status).toBe(400)
    expect(bad.json.error.issues[0]).toMatchObject({ path: 'rule.and[0].performed.count.gte', rule: 'type' })
    const badId = await admin(segmentsUrl(), 'POST', { id: 'Has Spaces', name: 'x', rule: { performed: { event: 'X' } } })
    expect(badId.json.error.issues[0]).toMatchObject({ path: 'id' })
    const unknown = await admin(segmentsUrl(), 'POST', { id: 'refs', name: 'x', rule: { segment: { id: 'nope' } } })
    expect(unknown.json.error.issues[0]).toMatchObject({ rule: 'reference' })
    await admin(segmentsUrl(), 'POST', { id: 'seg-a', name: 'A', rule: { segment: { id: 'viewed-7d' } } })
    const cycle = await admin(`${segmentsUrl()}/viewed-7d`, 'PUT', { name: 'V', rule: { segment: { id: 'seg-a' } } })
    expect(cycle.status).toBe(400)
    expect(cycle.json.error.issues[0]).toMatchObject({ rule: 'cycle' })
    expect((await admin(segmentsUrl(), 'POST', { id: 'seg-a', name: 'A', rule: { performed: { event: 'X' } } })).status).toBe(409)
    expect((await admin(`${segmentsUrl()}/viewed-7d`, 'DELETE')).status).toBe(409) // seg-a uses it
    const validate = await admin(`${segmentsUrl()}/validate`, 'POST', { rule: { not: { launched: true } } })
    expect(validate.json.error.issues[0]).toMatchObject({ path: 'rule.not', rule: 'one_of' })
  })

  it('a segment built on another follows it for the users that changed', async () => {
    const user = uid('u')
    await track(user, 'Product Viewed')
    await fx.nudge.segments.idle()
    expect(fx.nudge.segments.segmentsOf(user)).toEqual(expect.arrayContaining(['viewed-7d', 'seg-a']))
    expect(seen).toContainEqual(expect.objectContaining({ segmentId: 'seg-a', userKey: user, entered: true, cause: 'dependency' }))
  })

  it('preview, members pages, update (new version), size history, delete', async () => {
    const preview = await admin(`${segmentsUrl()}/preview`, 'POST', { rule: { performed: { event: 'Product Viewed' } }, sample: 2 })
    expect(preview.json.size).toBeGreaterThanOrEqual(4)
    expect(preview.json.sample).toHaveLength(2)

    const page1 = await admin(`${segmentsUrl()}/viewed-7d/members?limit=2`)
    const page2 = await admin(`${segmentsUrl()}/viewed-7d/members?limit=2&after=${page1.json.next}`)
    expect(page1.json.members).toHaveLength(2)
    expect(page2.json.members[0] > page1.json.members[1]).toBe(true)

    const updated = await admin(`${segmentsUrl()}/viewed-7d`, 'PUT', {
      name: 'Viewed a shoe',
      rule: { performed: { event: 'Product Viewed', where: [{ path: 'category', op: 'eq', value: 'shoes' }] } },
    })
    expect(updated.json).toMatchObject({ version: 2, size: 0 })
    const history = await admin(`${segmentsUrl()}/viewed-7d/size-history?bucket=hour`)
    expect(history.json.points.at(-1)).toMatchObject({ size: 0 })
    expect(history.json.points.reduce((n: number, p: { entered: number }) => n + p.entered, 0)).toBeGreaterThanOrEqual(4)

    expect((await admin(`${segmentsUrl()}/seg-a`, 'DELETE')).status).toBe(204)
    expect((await admin(`${segmentsUrl()}/seg-a`)).status).toBe(404)
  })

  it('definitions and memberships survive a restart; erasure removes a user from every segment', async () => {
    const user = uid('u')
    await track(user, 'Product Added', { cartId: 'cx' })
    await new Promise((r) => setTimeout(r, 3300))
    await fx.nudge.segments.sweep()
    expect(fx.nudge.segments.segmentsOf(user)).toContain('cart-abandoned')
    await fx.restart()
    expect(fx.nudge.segments.segmentsOf(user)).toContain('cart-abandoned')
    expect(fx.nudge.segments.get('viewed-7d').version).toBe(2)
    await admin(`${fx.nudge.url}/api/users/${user}`, 'DELETE')
    expect(fx.nudge.segments.segmentsOf(user)).toEqual([])
    const rows = await selectRows(fx.nudge.store.client, 'SELECT * FROM segment_transitions WHERE user_key = {u:String}', { u: user })
    expect(rows).toEqual([])
  })
})

describe('live segments after a stop', () => {
  const fx = useTestNudge({ env: { SEGMENT_SWEEP_INTERVAL_MS: '3600000', SEGMENT_EVALUATION: 'live' } })

  it('events stored but never evaluated (a crash between the two) are caught up at start', async () => {
    await admin(`${fx.nudge.url}/api/segments`, 'POST', {
      id: 'searched',
      name: 'Searched',
      rule: { performed: { event: 'Products Searched', within: '7d' } },
    })
    const user = uid('u')
    // Straight into the store, as if the process died after the insert and before evaluating.
    await fx.nudge.store.client.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: [
        {
          message_id: uid('m'),
          source: 'test',
          type: 'track',
          event: 'Products Searched',
          user_id: user,
          user_key: user,
          timestamp: Date.now(),
          received_at: Date.now(),
          properties: '{}',
        },
      ],
    })
    expect(fx.nudge.segments.segmentsOf(user)).toEqual([])
    await fx.restart()
    await fx.nudge.segments.idle() // the facts load in the background, then everyone is evaluated
    expect(fx.nudge.segments.segmentsOf(user)).toEqual(['searched'])
    const [row] = await selectRows<{ cause: string }>(
      fx.nudge.store.client,
      'SELECT cause FROM segment_transitions WHERE user_key = {u:String}',
      { u: user },
    )
    expect(row?.cause).toBe('recompute')
  })

  it('an anonymous visitor who signs in brings their history: the user enters, the anonymous id leaves', async () => {
    await admin(`${fx.nudge.url}/api/segments`, 'POST', {
      id: 'searched-twice',
      name: 'Searched twice',
      rule: { performed: { event: 'Products Searched', within: '7d', count: { gte: 2 } } },
    })
    const [anon, user] = [uid('anon'), uid('u')]
    await post(`${fx.nudge.url}/v1/track`, { anonymousId: anon, event: 'Products Searched', messageId: uid('m') })
    await post(`${fx.nudge.url}/v1/track`, { anonymousId: anon, event: 'Products Searched', messageId: uid('m') })
    await fx.nudge.segments.idle()
    expect(fx.nudge.segments.segmentsOf(anon)).toContain('searched-twice')
    await post(`${fx.nudge.url}/v1/identify`, { anonymousId: anon, userId: user, traits: { plan: 'free' }, messageId: uid('m') })
    await fx.nudge.segments.idle()
    expect(fx.nudge.segments.segmentsOf(user)).toContain('searched-twice')
    expect(fx.nudge.segments.segmentsOf(anon)).toEqual([])
  })
})

describe('metrics', () => {
  const fx = useTestNudge({ env: { SEGMENT_SWEEP_INTERVAL_MS: '3600000' } })

  it('exports ingest, rejects, segment evaluation and sweep lag for Prometheus', async () => {
    await admin(`${fx.nudge.url}/api/segments`, 'POST', {
      id: 'm-viewed',
      name: 'Viewed',
      rule: { performed: { event: 'Product Viewed', within: '7d' } },
    })
    await post(`${fx.nudge.url}/v1/track`, { userId: uid('u'), event: 'Product Viewed' })
    await post(`${fx.nudge.url}/v1/track`, { event: 'No user' })
    await fx.nudge.segments.idle()
    await fx.nudge.segments.sweep()
    const text = await (await fetch(`${fx.nudge.url}/metrics`)).text()
    expect(text).toMatch(/nudge_ingest_events_total\{outcome="stored"\} 1\b/)
    expect(text).toMatch(/nudge_ingest_rejects_total\{code="invalid_request",status="400"\} 1\b/)
    expect(text).toMatch(/nudge_segment_transitions_total\{segment="m-viewed",direction="enter",cause="event"\} 1\b/)
    expect(text).toMatch(/nudge_segment_evaluation_seconds_count 1\b/)
    expect(text).toMatch(/nudge_segment_sweep_lag_seconds \d/)
  })
})
