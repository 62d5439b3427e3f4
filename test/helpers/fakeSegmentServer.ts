import { type FakeServer, bad, startFakeServer } from './fakeHttpServer.js'

/**
 * Segment's HTTP tracking API (`/v1/identify`, `/v1/track`: Basic auth with the write key as user
 * name and an empty password; a userId or anonymousId; track needs `event`) and the Public API's
 * `POST /regulations` (Bearer workspace token). Messages are kept once per messageId, as Segment does.
 */
export interface FakeSegment extends FakeServer {
  messages: Map<string, any>
  regulations: any[]
}

export async function startFakeSegmentServer(writeKey: string, publicToken = 'public-api-token'): Promise<FakeSegment> {
  const messages = new Map<string, any>()
  const regulations: any[] = []
  const basic = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
  const server = await startFakeServer((r) => {
    if (r.method === 'POST' && (r.path === '/v1/identify' || r.path === '/v1/track')) {
      if (r.headers.authorization !== basic) return { status: 401, json: { success: false, message: 'invalid write key' } }
      const m = r.json
      if (!m || !(m.userId || m.anonymousId)) return bad('userId or anonymousId is required')
      if (r.path === '/v1/track' && typeof m.event !== 'string') return bad('event is required')
      if (!messages.has(m.messageId)) messages.set(m.messageId, { type: r.path.slice(4), ...m })
      return { status: 200, json: { success: true } }
    }
    if (r.method === 'POST' && r.path === '/regulations') {
      if (r.headers.authorization !== `Bearer ${publicToken}`) return { status: 401, json: { errors: [{ message: 'unauthorized' }] } }
      if (!Array.isArray(r.json?.subjectIds) || r.json.subjectType !== 'USER_ID') return bad('subjectType and subjectIds are required')
      regulations.push(r.json)
      return { status: 200, json: { data: { regulateId: `reg-${regulations.length}` } } }
    }
    return { status: 404, json: { message: 'not found' } }
  })
  return Object.assign(server, { messages, regulations })
}
