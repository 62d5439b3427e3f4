import { simpleParser } from 'mailparser'
import { describe, expect, it } from 'vitest'
import type { ClickHouseClient } from '@clickhouse/client'
import { reminderTimingExperiment } from '../../experiments/examples.js'
import { ERASED_TABLES, KEPT_TABLES } from '../../ingest/erasure/tablePlan.js'
import type { ErasedSubject } from '../../ingest/erasure/erasureRegistry.js'
import { Tombstones } from '../../ingest/erasure/tombstones.js'
import { FalseTriggerMonitor } from '../../analytics/reports/falseTriggerMonitor.js'
import { selectRows } from '../../clickhouse/store.js'
import type { SendRequest } from '../../delivery/sendRequest.js'
import { admin, post, uid, useTestNudge } from '../helpers/harness.js'
import { activeJourney, identify, messagesTo, rawMessage, track, waitFor } from '../helpers/journeys.js'
import { runRow, sentRow } from '../helpers/rows.js'

const WEBHOOK_KEY = 'whk_erasure_test_key'

/** Tables of the schema that store rows (views write into others and hold nothing themselves). */
async function storedTables(c: ClickHouseClient): Promise<string[]> {
  const rows = await selectRows<{ name: string; engine: string }>(
    c,
    'SELECT name, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name',
  )
  return rows.filter((r) => !/View$/.test(r.engine)).map((r) => r.name)
}

/** Every table whose rows (every column, as text) contain any of the needles. */
async function tablesHolding(c: ClickHouseClient, needles: string[]): Promise<Record<string, number>> {
  const found: Record<string, number> = {}
  for (const table of await storedTables(c)) {
    const [row] = await selectRows<{ n: string }>(
      c,
      `SELECT count() AS n FROM ${table} WHERE multiSearchAny(formatRowNoNewline('TSV', *), {needles:Array(String)})`,
      { needles },
    )
    if (Number(row!.n) > 0) found[table] = Number(row!.n)
  }
  return found
}

async function dropped(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^nudge_erased_signals_dropped_total\{kind="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2])
  return out
}

/**
 * Right to erasure, end to end against the real engines: after `DELETE /api/users/:id` the person
 * is in no table of the schema (walked from system.tables, so a new table without erasure
 * support fails here) and in no registered in-memory index; old links of their mail — pixel,
 * click, one-click unsubscribe, view, preferences, a bounce — are dropped and counted, never
 * stored; an old event retried is dropped, a new one is a new person.
 */
describe('erasure is complete and final', () => {
  const fx = useTestNudge({ role: 'all', env: { CONFIG_POLL_MS: '100', FREQUENCY_CAP: '', QUIET_HOURS: '', WEBHOOK_KEY } })
  const base = () => fx.nudge.url
  const c = () => fx.nudge.store.client

  it('every table of the schema is either erased or kept for a stated reason', async () => {
    const tables = await storedTables(c())
    const unclassified = tables.filter((t) => !(t in ERASED_TABLES) && !(t in KEPT_TABLES))
    expect(unclassified).toEqual([])
    for (const t of Object.keys(ERASED_TABLES)) expect(tables).toContain(t)
  })

  it('a user with a rich history is nowhere after erasure, and late signals of their mail do not bring them back', async () => {
    const user = uid('erase')
    const anon = uid('anon')
    const email = `${user}@example.test`
    const other = uid('keep')
    const lane = uid('lane')

    // --- a rich history -------------------------------------------------------------------
    expect(
      (
        await admin(`${base()}/api/segments`, 'POST', {
          id: `viewers-${lane}`,
          name: 'Viewers',
          rule: { trait: { key: 'lane', op: 'eq', value: lane } },
        })
      ).status,
    ).toBe(201)
    await activeJourney(base(), {
      id: lane,
      name: lane,
      trigger: { type: 'event', event: 'Product Added', where: [{ path: 'lane', op: 'eq', value: lane }] },
      steps: [
        { id: 'mark', type: 'update_trait', key: 'reminded', value: true },
        { id: 'mail', type: 'send', template: 'cart-reminder' },
      ],
    })
    expect((await post(`${base()}/v1/page`, { anonymousId: anon, name: 'Home' })).status).toBe(200)
    expect(
      (await post(`${base()}/v1/identify`, { anonymousId: anon, userId: user, traits: { email, first_name: 'Erin', lane } })).status,
    ).toBe(200)
    await identify(base(), other, { email: `${other}@example.test`, lane })
    await track(base(), user, 'Product Viewed', { product_id: 'p-erase', name: 'Boot', price: 120, url: 'https://shop.example/p-erase' })
    expect((await admin(`${base()}/api/consent`, 'POST', { userId: user, topics: { marketing: true } })).status).toBe(200)
    expect((await admin(`${base()}/api/experiments`, 'POST', { ...reminderTimingExperiment, key: `exp-${lane}` })).status).toBe(201)
    expect((await admin(`${base()}/api/experiments/exp-${lane}/start`, 'POST')).status).toBe(200)
    fx.nudge.experiments.assign(`exp-${lane}`, user, { email })
    await fx.nudge.experiments.flush()
    await track(base(), user, 'Product Added', {
      lane,
      product_id: 'p-erase',
      name: 'Boot',
      price: 120,
      url: 'https://shop.example/p-erase',
      cart_url: 'https://shop.example/cart',
    })

    const [captured] = await waitFor(
      async () => {
        const m = await messagesTo(base(), email)
        return m.length === 1 && m
      },
      30_000,
      'the cart reminder',
    )
    const messageId = captured!.messageId
    const mail = await simpleParser(await rawMessage(base(), messageId))
    const html = String(mail.html)
    const amp = (s: string) => s.replace(/&amp;/g, '&')
    const pixel = amp(/src="([^"]+\/t\/o\/[^"]+)"/.exec(html)![1]!)
    const click = amp(/href="([^"]+\/t\/c\/[^"]+)"/.exec(html)![1]!)
    const view = amp(/href="([^"]+\/t\/v\/[^"]+)"/.exec(html)![1]!)
    const unsubscribe = /<(http[^>]+\/u\/[^>]+)>/.exec(mail.headerLines.find((h) => h.key === 'list-unsubscribe')!.line)![1]!
    const code = /SAVE-[0-9A-F]{8}/.exec(html)![0]
    const browser = { 'user-agent': 'Mozilla/5.0 (Macintosh) Safari/605' }

    // Engagement before the erasure: an open and a click become message outcomes and events.
    await fetch(pixel, { headers: browser })
    await fetch(click, { redirect: 'manual', headers: browser })
    expect((await fetch(view)).status).toBe(200)
    await waitFor(
      async () => {
        const rows = await selectRows<{ event: string }>(c(), 'SELECT event FROM message_events WHERE message_id = {m:String}', {
          m: messageId,
        })
        return rows.some((r) => r.event === 'open') && rows.some((r) => r.event === 'click')
      },
      10_000,
      'the open and the click',
    )
    await waitFor(
      async () =>
        (await selectRows(c(), "SELECT 1 FROM events WHERE user_key = {u:String} AND event = 'Email Link Clicked'", { u: user })).length >
        0,
      10_000,
      'the click event',
    )
    await waitFor(async () => fx.nudge.segments.isMember(`viewers-${lane}`, user), 10_000, 'segment membership')
    // The false-trigger monitor's finding for this send (its detection is tested elsewhere).
    await c().insert({
      table: 'false_triggers',
      format: 'JSONEachRow',
      values: [
        {
          at: Date.now(),
          journey_id: lane,
          user_key: user,
          message_id: messageId,
          class: 'duplicate',
          evidence: JSON.stringify({ messageId, email }),
        },
      ],
    })
    const oldEvent = { userId: user, event: 'Late Retry', messageId: uid('late'), timestamp: new Date(Date.now() - 1000).toISOString() }

    const needles = [user, anon, email, messageId, code]
    const subject: ErasedSubject = { userId: user, keys: [user, anon], messageIds: [messageId], eventMessageIds: [], emails: [email] }
    const { registry } = fx.nudge.erasure
    // The walks below must be able to fail: before the erasure they find the person widely.
    const before = await tablesHolding(c(), needles)
    for (const t of [
      'events',
      'message_ids',
      'traits',
      'contacts',
      'identities',
      'consent',
      'segment_membership',
      'segment_transitions',
      'experiment_exposures',
      'journey_runs',
      'journey_steps',
      'send_ledger',
      'mailbox',
      'discount_codes',
      'message_events',
      'message_bodies',
      'false_triggers',
    ])
      expect(before, t).toHaveProperty(t)
    expect(registry.stillKnown(subject)).toEqual(
      expect.arrayContaining([
        'consent state',
        'ingest identity links',
        'segment membership and live facts',
        'experiment exposures seen',
        'recommendations behaviour index',
        'message lookup cache',
        'click bursts',
      ]),
    )

    // --- erase -----------------------------------------------------------------------------
    const erased = await admin(`${base()}/api/users/${user}`, 'DELETE')
    expect(erased.status).toBe(200)
    expect(erased.json.rowsDeleted).toBeGreaterThan(20)

    // (a) in no table of the schema (the tombstone and the log hold keyed hashes only)
    expect(await tablesHolding(c(), needles)).toEqual({})
    // (b) in no registered in-memory index
    expect(registry.stillKnown(subject)).toEqual([])
    // The other person is untouched.
    expect((await admin(`${base()}/api/users/${other}`)).status).toBe(200)

    // (c) late signals of the erased mail: answered, dropped, counted — nothing stored.
    const counted = await dropped(base())
    expect((await fetch(pixel, { headers: browser })).status).toBe(200)
    const redirect = await fetch(click, { redirect: 'manual', headers: browser })
    expect(redirect.status).toBe(302)
    const oneClick = await fetch(unsubscribe, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    })
    expect(oneClick.status).toBe(200)
    expect((await fetch(view)).status).toBe(404)
    expect((await fetch(unsubscribe)).status).toBe(404)
    const bounce = await fetch(`${base()}/webhooks/email/nudge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-nudge-webhook-key': WEBHOOK_KEY },
      body: JSON.stringify({ events: [{ type: 'bounce', bounceType: 'soft', messageId }] }),
    })
    expect(bounce.status).toBe(200)
    expect(((await bounce.json()) as { matched: number }).matched).toBe(0)
    // An event of the erased user timestamped before the erasure (a retry, an offline queue): dropped.
    expect((await post(`${base()}/v1/track`, oldEvent)).status).toBe(200)
    const after = await waitFor(
      async () => {
        const d = await dropped(base())
        const moved = (k: string) => (d[k] ?? 0) - (counted[k] ?? 0)
        return ['open', 'click', 'unsubscribe', 'view', 'preferences', 'bounce', 'event'].every((k) => moved(k) >= 1) && d
      },
      10_000,
      'every late signal counted as dropped',
    )
    expect(after.open! - (counted.open ?? 0)).toBe(1)
    expect(after.unsubscribe! - (counted.unsubscribe ?? 0)).toBe(1)
    await fx.nudge.writer.drain()
    await fx.nudge.journeys.outcomes.settled()
    expect(await tablesHolding(c(), needles)).toEqual({})
    expect((await admin(`${base()}/api/users/${user}`)).status).toBe(404)
    expect(fx.nudge.consent.recorded(user).size).toBe(0)
    expect(registry.stillKnown(subject)).toEqual([])

    // A new event of the same id after the erasure is a new person who chose that id (documented).
    await track(base(), user, 'Signed Up')
    const again = await admin(`${base()}/api/users/${user}`)
    expect(again.status).toBe(200)
    expect(again.json.recentEvents.map((e: { event: string }) => e.event)).toEqual(['Signed Up'])
  }, 120_000)

  it('an erasure waits for sends already under way: what they write lands before the store is erased', async () => {
    const user = uid('inflight')
    await identify(base(), user, { email: `${user}@example.test`, first_name: 'Ines' })
    const workflowId = `journey:inflight-probe:${user}`
    const now = Date.now()
    const req: SendRequest = {
      messageId: `${workflowId}:mail`,
      workflowId,
      journeyId: 'inflight-probe',
      journeyVersion: 1,
      stepId: 'mail',
      userKey: user,
      trigger: { messageId: uid('t'), event: 'Probe', type: 'track', userKey: user, properties: {}, timestamp: now, receivedAt: now },
      template: 'cart-reminder',
      topic: 'transactional',
      priority: 0,
      exit: [],
      flags: {},
      scheduledAt: now,
      test: false,
    }
    const sending = fx.nudge.journeys.deliverer!.deliver(req)
    await fx.nudge.erasure.registry.settle()
    const ledger = await selectRows<{ status: string }>(c(), 'SELECT status FROM send_ledger WHERE message_id = {m:String}', {
      m: req.messageId,
    })
    expect(ledger.map((r) => r.status)).toContain('sent')
    expect(await sending).toMatchObject({ status: 'sent' })
  })

  it('erasing an id nothing is held for answers 200 with nothing deleted, and leaves its tombstone', async () => {
    const nobody = uid('nobody')
    const res = await admin(`${base()}/api/users/${nobody}`, 'DELETE')
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ erased: true, rowsDeleted: 0 })
    expect(fx.nudge.erasure.tombstones.isLate([nobody], Date.now() - 60_000)).toBe(true)
  })

  it('an identity merged by alias is erased to the end of its chain: the earlier user id and its own anonymous ids', async () => {
    const anon = uid('anon-chain')
    const earlier = uid('earlier')
    const user = uid('merged')
    // A visitor browses anonymously, signs up as `earlier`, and that account is later aliased into `user`.
    expect((await post(`${base()}/v1/track`, { anonymousId: anon, event: 'Product Viewed', properties: { sku: 'chain-1' } })).status).toBe(
      200,
    )
    expect((await post(`${base()}/v1/identify`, { anonymousId: anon, userId: earlier, traits: { plan: 'free' } })).status).toBe(200)
    expect((await post(`${base()}/v1/alias`, { previousId: earlier, userId: user })).status).toBe(200)
    expect((await post(`${base()}/v1/track`, { userId: user, event: 'Order Completed' })).status).toBe(200)
    await waitFor(async () => Object.keys(await tablesHolding(c(), [anon])).length > 0 || undefined, 10_000, 'the anonymous events to land')
    const res = await admin(`${base()}/api/users/${user}`, 'DELETE')
    expect(res.status).toBe(200)
    expect(await tablesHolding(c(), [anon, earlier, user])).toEqual({})
    // The anonymous id is tombstoned too: its queued offline events do not come back.
    expect(fx.nudge.erasure.tombstones.isLate([anon], Date.now() - 60_000)).toBe(true)
  })

  it('tombstones: keyed hashes only; what was before the erasure is late, what follows is a new person; another process catches up', async () => {
    const id = uid('tomb')
    const key = Buffer.alloc(32, 7)
    const mine = new Tombstones(c(), key)
    expect(mine.isLate([id], Date.now())).toBe(false) // checked (and remembered as clean) before the erasure
    const at = Date.now()
    await mine.record({ users: [id], messages: [`journey:j:${id}:mail`] }, at)
    expect(mine.isLate([id], at - 1)).toBe(true)
    expect(mine.isLate([id], at)).toBe(true)
    expect(mine.isLate([id], at + 1)).toBe(false)
    expect(mine.isErasedMessage(`journey:j:${id}:mail`)).toBe(true)
    expect(mine.isErasedMessage(`journey:j:${id}:other`)).toBe(false)
    const stored = await selectRows<{ id_hash: string }>(c(), 'SELECT id_hash FROM erased_ids')
    expect(stored.some((r) => r.id_hash === mine.hash('user', id))).toBe(true)
    expect(stored.some((r) => r.id_hash.includes(id))).toBe(false)
    // Another process (a worker) on the same store: catches up on load; another key sees nothing.
    const other = new Tombstones(c(), key)
    await other.load()
    expect(other.isLate([id], at - 1)).toBe(true)
    const foreign = new Tombstones(c(), Buffer.alloc(32, 8))
    await foreign.load()
    expect(foreign.isLate([id], at - 1)).toBe(false)
  })

  it('a false-trigger check that read erased mail before the erasure records nothing of it', async () => {
    const j = uid('ft').toLowerCase().replace(/_/g, '-')
    expect(
      (
        await admin(`${base()}/api/journeys`, 'POST', {
          id: j,
          name: j,
          trigger: { type: 'event', event: 'Product Added' },
          steps: [{ id: 'mail', type: 'send', template: 'cart-reminder' }],
        })
      ).status,
    ).toBe(201)
    const t0 = Date.now() - 3_600_000
    const w = `journey:${j}:${uid('late')}`
    const messageId = `${w}:mail`
    // A stale trigger: the event was three days old when it arrived.
    await c().insert({
      table: 'journey_runs',
      format: 'JSONEachRow',
      values: [runRow({ workflow_id: w, journey_id: j, user_key: 'u', trigger_at: t0 - 3 * 86_400_000, received_at: t0, at: t0 + 100 })],
    })
    await c().insert({
      table: 'send_ledger',
      format: 'JSONEachRow',
      values: [sentRow({ message_id: messageId, workflow_id: w, journey_id: j, user_key: 'u', at: t0 + 1000, scheduled_at: t0 + 900 })],
    })
    const monitor = (isErasedMessage?: (id: string) => boolean) =>
      new FalseTriggerMonitor({
        client: c(),
        options: fx.nudge.falseTriggerOptions,
        intervalMs: 0,
        ...(isErasedMessage ? { isErasedMessage } : {}),
      })
    expect((await monitor((id) => id === messageId).check()).filter((f) => f.journeyId === j)).toEqual([])
    expect(await selectRows(c(), 'SELECT 1 FROM false_triggers WHERE message_id = {m:String}', { m: messageId })).toEqual([])
    // The same check without the tombstone finds it: the filter, not the data, made the difference.
    expect((await monitor().check()).filter((f) => f.journeyId === j).map((f) => f.class)).toEqual(['stale_trigger'])
  })

  it('a run of an erased user, triggered before the erasure, neither sends nor records', async () => {
    const user = uid('gone')
    await identify(base(), user, { email: `${user}@example.test` })
    const triggeredAt = Date.now() - 5_000
    expect((await admin(`${base()}/api/users/${user}`, 'DELETE')).status).toBe(200)
    const counted = (await dropped(base())).send ?? 0
    const workflowId = `journey:erased-probe:${user}`
    /** The run's record of its delay step, as the worker buffers it. */
    const waited = (at: number) => ({
      workflowId,
      journeyId: 'erased-probe',
      journeyVersion: 1,
      userKey: user,
      stepId: 'wait',
      stepType: 'delay' as const,
      outcome: 'waited' as const,
      test: false,
      at,
    })
    const req: SendRequest = {
      messageId: `${workflowId}:mail`,
      workflowId,
      journeyId: 'erased-probe',
      journeyVersion: 1,
      stepId: 'mail',
      userKey: user,
      trigger: {
        messageId: uid('t'),
        event: 'Probe',
        type: 'track',
        userKey: user,
        properties: {},
        timestamp: triggeredAt,
        receivedAt: triggeredAt,
      },
      template: 'cart-reminder',
      topic: 'marketing',
      priority: 0,
      exit: [],
      flags: {},
      scheduledAt: Date.now(),
      test: false,
      records: {
        runs: [],
        steps: [waited(triggeredAt + 2)],
      },
    }
    // The run's buffered records, on their way when the user was erased: not written either.
    await fx.nudge.journeys.activities!.record({
      runs: [
        {
          workflowId,
          journeyId: 'erased-probe',
          journeyVersion: 1,
          userKey: user,
          correlation: '',
          phase: 'started',
          trigger: req.trigger,
          test: false,
          at: triggeredAt,
        },
      ],
      steps: [waited(triggeredAt + 1)],
    })
    const result = await fx.nudge.journeys.deliverer!.deliver(req)
    expect(result).toMatchObject({ status: 'skipped', reason: 'erased' })
    await fx.nudge.journeys.outcomes.settled()
    expect(await tablesHolding(c(), [user])).toEqual({})
    expect((await dropped(base())).send).toBe(counted + 1)
  })
})
