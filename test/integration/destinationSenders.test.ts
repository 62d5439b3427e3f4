import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSRequestTimeoutError } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DestinationDefinition, type DestinationOf, destinationDefinition } from '../../destinations/destinationSchema.js'
import type { DestinationRecord } from '../../destinations/destinationRecord.js'
import { senderFor } from '../../destinations/senders/senderFor.js'
import { parseRetryAfter } from '../../destinations/senders/httpCall.js'
import { classifyKafkaError } from '../../destinations/senders/kafkaErrors.js'
import { KafkaProducers } from '../../destinations/senders/kafkaProducers.js'
import { signBody, verifySignature } from '../../destinations/signature.js'
import type { FakeServer } from '../helpers/fakeHttpServer.js'
import { startFakeWebhookServer } from '../helpers/fakeWebhookServer.js'
import { type FakeHubspot, startFakeHubspotServer } from '../helpers/fakeHubspotServer.js'
import { type FakeSalesforce, startFakeSalesforceServer } from '../helpers/fakeSalesforceServer.js'
import { type FakeSegment, startFakeSegmentServer } from '../helpers/fakeSegmentServer.js'

/** Each sender against a real HTTP server on loopback that speaks its destination's documented shape. */
const SECRET = 'whsec_0123456789abcdef'
const TOKEN = 'pat-na1-test-token'
const WRITE_KEY = 'segment-write-key'

const rec = (over: Partial<DestinationRecord> = {}): DestinationRecord => ({
  id: `r-${Math.random().toString(36).slice(2)}`,
  userKey: 'u-42',
  kind: 'segment_entered',
  at: Date.parse('2026-12-05T10:00:00Z'),
  data: { segmentId: 'vip', traits: { r_score: 5, ltv: 120.5 } },
  ...over,
})

function define<K extends DestinationDefinition['kind']>(kind: K, config: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return destinationDefinition.parse({
    id: `d-${kind}`,
    name: kind,
    kind,
    records: { segments: {} },
    timeoutMs: 300,
    config,
    ...extra,
  }) as DestinationOf<K>
}

const servers: FakeServer[] = []
afterAll(async () => {
  for (const s of servers) await s.close()
})

describe('webhook sender', () => {
  let hook: Awaited<ReturnType<typeof startFakeWebhookServer>>
  beforeAll(async () => {
    hook = await startFakeWebhookServer(SECRET)
    servers.push(hook)
  })

  it('posts a signed body the receiver verifies, with the record id as delivery id', async () => {
    const s = senderFor(define('webhook', { url: `${hook.url}/hooks/nudge`, secret: SECRET }))!
    const r = rec()
    expect(await s.send(r)).toMatchObject({ status: 'ok' })
    expect(hook.deliveries.get(r.id)).toMatchObject({ id: r.id, type: 'segment_entered', event: 'Segment Entered', userId: 'u-42' })
    expect(hook.deliveries.get(r.id).properties).toMatchObject({ segmentId: 'vip', traits: { r_score: 5 } })
  })

  it('a wrong secret is refused by the receiver: permanent, never retried', async () => {
    const s = senderFor(define('webhook', { url: `${hook.url}/hooks/nudge`, secret: 'not-the-right-secret-at-all' }))!
    expect(await s.send(rec())).toMatchObject({ status: 'permanent', code: 'rejected' })
  })

  it('signature: a stale time or a changed body fails verification (replay protection)', () => {
    const body = '{"a":1}'
    const old = signBody(SECRET, body, Date.now() - 10 * 60_000)
    expect(verifySignature(SECRET, old, body)).toEqual({ ok: false, reason: 'stale' })
    const fresh = signBody(SECRET, body)
    expect(verifySignature(SECRET, fresh, '{"a":2}')).toEqual({ ok: false, reason: 'mismatch' })
    expect(verifySignature(SECRET, fresh, body)).toEqual({ ok: true })
    expect(verifySignature(SECRET, 'garbage', body)).toEqual({ ok: false, reason: 'malformed' })
  })

  it('mapping picks and renames fields', async () => {
    const s = senderFor(
      define('webhook', {
        url: `${hook.url}/hooks/nudge`,
        secret: SECRET,
        mapping: { seg: 'segmentId', recency: 'traits.r_score', who: 'userId' },
      }),
    )!
    const r = rec()
    await s.send(r)
    expect(hook.deliveries.get(r.id).properties).toEqual({ seg: 'vip', recency: 5, who: 'u-42' })
  })
})

describe('error modes (shared by every HTTP sender)', () => {
  let hook: Awaited<ReturnType<typeof startFakeWebhookServer>>
  let s: NonNullable<ReturnType<typeof senderFor>>
  beforeAll(async () => {
    hook = await startFakeWebhookServer(SECRET)
    servers.push(hook)
    s = senderFor(define('webhook', { url: `${hook.url}/hooks/nudge`, secret: SECRET }))!
  })

  it('429 with Retry-After: retry after what the server asked', async () => {
    hook.fail({ status: 429, retryAfter: '7' })
    expect(await s.send(rec())).toMatchObject({ status: 'retry', code: 'rate_limited', retryAfterMs: 7000 })
  })

  it('503 with an HTTP-date Retry-After; 500 without one', async () => {
    hook.fail({ status: 503, retryAfter: new Date(Date.now() + 30_000).toUTCString() }, { status: 500 })
    const a = await s.send(rec())
    expect(a).toMatchObject({ status: 'retry', code: 'unavailable' })
    expect((a as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(25_000)
    const b = await s.send(rec())
    expect(b).toMatchObject({ status: 'retry', code: 'unavailable' })
    expect(b).not.toHaveProperty('retryAfterMs')
  })

  it('a server that never answers: a timeout, retried', async () => {
    hook.fail('hang')
    const t0 = Date.now()
    expect(await s.send(rec())).toMatchObject({ status: 'retry', code: 'timeout' })
    expect(Date.now() - t0).toBeLessThan(2000)
  })

  it('4xx other than 408/425/429: permanent', async () => {
    hook.fail({ status: 422 }, { status: 404 })
    expect(await s.send(rec())).toMatchObject({ status: 'permanent' })
    expect(await s.send(rec())).toMatchObject({ status: 'permanent' })
  })

  it('nobody listening: a network failure, retried', async () => {
    const gone = senderFor(define('webhook', { url: 'http://127.0.0.1:9/hooks/nudge', secret: SECRET }))!
    expect(await gone.send(rec())).toMatchObject({ status: 'retry' })
  })

  it('Retry-After parsing: seconds, dates, garbage, and a cap', () => {
    expect(parseRetryAfter('3')).toBe(3000)
    expect(parseRetryAfter('soon')).toBeUndefined()
    expect(parseRetryAfter(null)).toBeUndefined()
    expect(parseRetryAfter('999999')).toBe(600_000)
  })
})

describe('hubspot sender', () => {
  let hs: FakeHubspot
  beforeAll(async () => {
    hs = await startFakeHubspotServer(TOKEN)
    servers.push(hs)
  })
  const d = () =>
    define('hubspot', {
      baseUrl: hs.url,
      accessToken: TOKEN,
      mapping: { nudge_r_score: 'traits.r_score', nudge_last_segment: 'segmentId' },
      events: { segment_entered: 'pe123_nudge_segment_entered' },
    })

  it('upserts the contact by its unique property (values as strings), then sends the custom event on its id', async () => {
    expect(await senderFor(d())!.send(rec())).toMatchObject({ status: 'ok' })
    const c = hs.contacts.get('u-42')!
    expect(c.properties).toEqual({ nudge_r_score: '5', nudge_last_segment: 'vip' })
    expect(hs.events).toEqual([
      { eventName: 'pe123_nudge_segment_entered', objectId: c.id, occurredAt: '2026-12-05T10:00:00.000Z', properties: c.properties },
    ])
  })

  it('a kind with no event configured updates properties only', async () => {
    const before = hs.events.length
    expect(await senderFor(d())!.send(rec({ kind: 'segment_exited' }))).toMatchObject({ status: 'ok' })
    expect(hs.events.length).toBe(before)
  })

  it('a bad token is permanent (401); a 429 on the event is retried', async () => {
    const wrong = senderFor(define('hubspot', { baseUrl: hs.url, accessToken: 'wrong-token-x' }))!
    expect(await wrong.send(rec())).toMatchObject({ status: 'permanent' })
    hs.fail({ status: 429, retryAfter: '1' })
    expect(await senderFor(d())!.send(rec())).toMatchObject({ status: 'retry', retryAfterMs: 1000 })
  })

  it('erasure is the GDPR delete by the unique property; an unknown contact is nothing to delete', async () => {
    const s = senderFor(d())!
    expect(await s.erase!('u-42')).toMatchObject({ status: 'ok' })
    expect(hs.deleted).toEqual(['u-42'])
    expect(await s.erase!('never-seen')).toMatchObject({ status: 'ok' })
  })
})

describe('salesforce sender', () => {
  let sf: FakeSalesforce
  beforeAll(async () => {
    sf = await startFakeSalesforceServer(TOKEN)
    servers.push(sf)
  })
  const d = (extra: Record<string, unknown> = {}) =>
    define('salesforce', {
      instanceUrl: sf.url,
      accessToken: TOKEN,
      mapping: { Nudge_R_Score__c: 'traits.r_score', Nudge_Segment__c: 'segmentId' },
      ...extra,
    })

  it('upserts the Contact by external id with the mapped fields (created, then updated)', async () => {
    const s = senderFor(d())!
    expect(await s.send(rec())).toMatchObject({ status: 'ok' })
    expect(await s.send(rec({ data: { segmentId: 'churn-risk' } }))).toMatchObject({ status: 'ok' })
    expect(sf.records.get('u-42')).toEqual({ Nudge_R_Score__c: 5, Nudge_Segment__c: 'churn-risk' })
  })

  it('a record that maps to no field sends nothing', async () => {
    const n = sf.all.length
    expect(await senderFor(d())!.send(rec({ data: {} }))).toMatchObject({ status: 'ok' })
    expect(sf.all.length).toBe(n)
  })

  it('INVALID_SESSION_ID is permanent; REQUEST_LIMIT_EXCEEDED (403) is retried', async () => {
    expect(await senderFor(d({ accessToken: 'expired-token' }))!.send(rec())).toMatchObject({ status: 'permanent' })
    sf.fail({ status: 403, body: JSON.stringify([{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }]) })
    expect(await senderFor(d())!.send(rec())).toMatchObject({ status: 'retry', code: 'rate_limited' })
  })

  it('erasure deletes the record by external id', async () => {
    expect(await senderFor(d())!.erase!('u-42')).toMatchObject({ status: 'ok' })
    expect(sf.records.has('u-42')).toBe(false)
  })
})

describe('segment sender', () => {
  let seg: FakeSegment
  beforeAll(async () => {
    seg = await startFakeSegmentServer(WRITE_KEY)
    servers.push(seg)
  })
  const d = (extra: Record<string, unknown> = {}) => define('segment', { endpoint: seg.url, writeKey: WRITE_KEY, ...extra })

  it('traits are an identify, other records a track; the record id is the messageId', async () => {
    const s = senderFor(d())!
    const t = rec({ kind: 'traits', data: { traits: { r_score: 4 } } })
    const o = rec({ kind: 'opened', data: { messageId: 'm1', journeyId: 'welcome' } })
    expect(await s.send(t)).toMatchObject({ status: 'ok' })
    expect(await s.send(o)).toMatchObject({ status: 'ok' })
    expect(seg.messages.get(t.id)).toMatchObject({ type: 'identify', userId: 'u-42', traits: { r_score: 4 } })
    expect(seg.messages.get(o.id)).toMatchObject({
      type: 'track',
      event: 'Email Opened',
      properties: { messageId: 'm1', journeyId: 'welcome' },
    })
  })

  it('a wrong write key is permanent', async () => {
    expect(await senderFor(d({ writeKey: 'wrong-write-key' }))!.send(rec())).toMatchObject({ status: 'permanent' })
  })

  it('erasure: a SUPPRESS_WITH_DELETE regulation when a Public API token is set; none otherwise', async () => {
    expect(senderFor(d())!.erase).toBeUndefined()
    const s = senderFor(d({ deletion: { apiUrl: seg.url, token: 'public-api-token' } }))!
    expect(await s.erase!('u-42')).toMatchObject({ status: 'ok' })
    expect(seg.regulations).toEqual([{ regulationType: 'SUPPRESS_WITH_DELETE', subjectType: 'USER_ID', subjectIds: ['u-42'] }])
  })
})

describe('kafka sender', () => {
  const producers = new KafkaProducers('nudge-test')
  afterAll(() => producers.close())
  const ctx = { kafka: { producers, brokers: [] } }
  /** A protocol error as kafkajs raises it from a broker's answer (its type names the error code). */
  const protocol = (type: string) => Object.assign(new KafkaJSProtocolError(`broker said ${type}`), { type })
  /** kafkajs's wrapper once its own retries are spent, the broker's last answer as its cause. */
  const exhausted = (cause: Error) => new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 2, retryTime: 1000 })

  it('needs the process’s producers: without them the kind has no sender (nothing is enqueued)', () => {
    expect(senderFor(define('kafka', { topic: 'nudge.behaviour' }))).toBeUndefined()
    expect(senderFor(define('kafka', { topic: 'nudge.behaviour' }), ctx)).toBeDefined()
  })

  it('no brokers in the destination nor KAFKA_BROKERS is a permanent failure, named', async () => {
    expect(await senderFor(define('kafka', { topic: 'nudge.behaviour' }), ctx)!.send(rec())).toMatchObject({
      status: 'permanent',
      reason: expect.stringContaining('KAFKA_BROKERS'),
    })
  })

  it('erasure is a tombstone only on a compacted topic: an uncompacted one has no delete call', () => {
    expect(senderFor(define('kafka', { topic: 't' }), ctx)!.erase).toBeUndefined()
    expect(senderFor(define('kafka', { topic: 't', compacted: true }), ctx)!.erase).toBeDefined()
  })

  it('classifies broker failures: too large, authorization and invalid topic are permanent; the rest retried', () => {
    for (const type of ['MESSAGE_TOO_LARGE', 'TOPIC_AUTHORIZATION_FAILED', 'INVALID_TOPIC_EXCEPTION'])
      expect(classifyKafkaError(exhausted(protocol(type)))).toMatchObject({
        status: 'permanent',
        reason: expect.stringContaining(type),
      })
    for (const type of ['NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'LEADER_NOT_AVAILABLE'])
      expect(classifyKafkaError(exhausted(protocol(type)))).toMatchObject({ status: 'retry', code: 'unavailable' })
    expect(classifyKafkaError(protocol('REQUEST_TIMED_OUT'))).toMatchObject({ status: 'retry', code: 'timeout' })
    expect(classifyKafkaError(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'))).toMatchObject({
      status: 'retry',
      code: 'timeout',
    })
    expect(classifyKafkaError(exhausted(new KafkaJSConnectionError('Connection error: ECONNREFUSED')))).toMatchObject({
      status: 'retry',
      code: 'network',
      reason: expect.stringContaining('ECONNREFUSED'),
    })
    expect(classifyKafkaError(new Error('something else'))).toMatchObject({ status: 'retry' })
  })
})
