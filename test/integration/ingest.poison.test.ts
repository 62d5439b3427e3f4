import { describe, expect, it } from 'vitest'
import { IngestService } from '../../ingest/ingestService.js'
import { NudgeError } from '../../core/errors.js'
import { ADMIN_KEY, post, uid, useTestNudge } from '../helpers/harness.js'
import { countRows } from '../helpers/store.js'

/** No input is retried forever: what the store can never hold is a 4xx, never a 503 + Retry-After. */
describe('poison events', () => {
  const fx = useTestNudge()

  it('events timestamped before 2001-09-09 (fewer than 10 digits of seconds) are stored, not refused on every retry', async () => {
    for (const timestamp of [
      '1970-01-01T00:00:00.001Z',
      '1971-01-01T00:00:00.009Z',
      '1999-12-31T23:59:59.999Z',
      '2001-09-09T01:46:39.999Z',
    ]) {
      const messageId = uid('old')
      const res = await post(`${fx.nudge.url}/v1/track`, { messageId, userId: 'u-old', event: 'Old', timestamp })
      expect(res.status, `${timestamp}: ${res.text}`).toBe(200)
      const rows = await countRows(
        fx.nudge.store.client,
        'events',
        'message_id = {id:String} AND toUnixTimestamp64Milli(timestamp) = {t:Int64}',
        { id: messageId, t: Date.parse(timestamp) },
      )
      expect(rows, timestamp).toBe(1)
    }
  })

  it('a NUL in an id is a 400 naming it (Temporal cannot hold it); erasing a NUL id is answered, not a 500; a tab is kept', async () => {
    for (const body of [
      { userId: 'u\u0000x', event: 'E' },
      { anonymousId: '\u0000', event: 'E' },
      { userId: 'u', messageId: 'm\u0000', event: 'E' },
    ]) {
      const res = await post(`${fx.nudge.url}/v1/track`, body)
      expect(res.status).toBe(400)
      expect(res.json.error.issues[0].rule).toBe('nul_character')
    }
    expect((await post(`${fx.nudge.url}/v1/track`, { userId: 'u\tx', event: 'E' })).status).toBe(200)
    const erase = await fetch(`${fx.nudge.url}/api/users/%00`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    expect(erase.status).toBe(200)
  })

  it('a request the store refuses for its data is a 400 (rule storable) — alone, while the requests batched with it are stored', async () => {
    const ingest = new IngestService({ writer: fx.nudge.writer, dropKey: () => false, consentCategoryMap: {} })
    const event = (messageId: string) =>
      ingest.prepare({
        kind: 'track',
        body: { messageId, userId: 'u-p', event: 'E' },
        source: 'test',
        receivedAt: Date.now(),
        bodyBytes: 10,
      })[0]!
    // A time no validated event can carry (year 33658): what "the store cannot hold it" looks like.
    const poison = { ...event(uid('poison')), timestamp: 1e15 }
    const good = [event(uid('good')), event(uid('good'))]
    for (let attempt = 0; attempt < 2; attempt++) {
      const results = await Promise.allSettled([
        fx.nudge.writer.write({ events: [good[0]!] }),
        fx.nudge.writer.write({ events: [poison] }),
        fx.nudge.writer.write({ events: [good[1]!] }),
      ])
      expect(results[0]!.status).toBe('fulfilled')
      expect(results[2]!.status).toBe('fulfilled')
      const refused = (results[1] as PromiseRejectedResult).reason
      expect(refused, String(refused)).toBeInstanceOf(NudgeError)
      expect(refused.status, refused.message).toBe(400)
      expect(refused.retryAfterSeconds).toBeUndefined()
      expect(refused.issues[0]).toMatchObject({ path: '(body)', rule: 'storable' })
    }
    for (const g of good) expect(await countRows(fx.nudge.store.client, 'events', 'message_id = {id:String}', { id: g.messageId })).toBe(1)
    expect(await countRows(fx.nudge.store.client, 'events', 'message_id = {id:String}', { id: poison.messageId })).toBe(0)
  })
})
