import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { signToken } from '../../content/tracking/tokens.js'
import { ADMIN_KEY, WRITE_KEY, basic, useTestNudge } from '../helpers/harness.js'
import { type JsonSchema, SchemaArbitraries, nasty, pct, toJsonText } from '../helpers/schemaArbitrary.js'

/**
 * Property: no request — generated from the schemas behind /openapi.json, mutated, or raw byte
 * noise under random content-type / charset / content-encoding headers — gets a 5xx; the
 * process stays up; every ingest request answered 200 has its events stored.
 *
 * FUZZ_RUNS sets the number of requests (default 3,000 in `npm test`; `npm run fuzz` runs more);
 * FUZZ_SEED replays a run.
 */
const REQUESTS = Number(process.env.FUZZ_RUNS ?? 3000)
const SEED = Number(process.env.FUZZ_SEED ?? 1313)
const PARALLEL = 8
/**
 * A request not answered in this long is a failure (a hang), not a wait. Generous: on a loaded
 * machine an erasure's table rewrites hold other reads for tens of seconds (not a hang).
 */
const REQUEST_TIMEOUT_MS = Number(process.env.FUZZ_TIMEOUT_MS ?? 120_000)

interface Route {
  method: string
  path: string // OpenAPI template, /api/users/{id}
  auth: 'admin' | 'writeKey' | 'none'
  params: { name: string; in: 'path' | 'query'; schema: JsonSchema; required: boolean }[]
  body?: JsonSchema
}

interface FuzzRequest {
  method: string
  url: string
  headers: Record<string, string>
  body?: Buffer
  /** The JSON text sent (before compression), when it was JSON; for the ingest check. */
  text?: string
  route: Route
}

const CONTENT_TYPES = [
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '',
  'application/json; charset',
  ';;',
  'image/png',
]
const CHARSETS = ['utf-8', 'UTF-8', 'latin1', 'iso-8859-1', 'utf-16', 'us-ascii', 'klingon', '"utf-8"', '', 'utf-8; charset=latin1']
const ENCODINGS = ['gzip', 'deflate', 'br', 'identity', 'zstd', 'gzip, br', 'x-gzip', '']
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']

function routesOf(doc: any): Route[] {
  const routes: Route[] = []
  for (const [path, ops] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      const security = (op.security ?? []).flatMap((s: object) => Object.keys(s))
      routes.push({
        method: method.toUpperCase(),
        path,
        auth: security.includes('adminKey') ? 'admin' : security.includes('writeKey') ? 'writeKey' : 'none',
        params: (op.parameters ?? []).map((p: any) => ({ name: p.name, in: p.in, schema: p.schema ?? {}, required: !!p.required })),
        body: op.requestBody?.content?.['application/json']?.schema,
      })
    }
  }
  // Segment's one-letter paths (analytics.js) are the same calls, undocumented.
  const byPath = new Map(routes.map((r) => [r.path, r]))
  for (const [short, long] of Object.entries({ t: 'track', i: 'identify', p: 'page', s: 'screen', a: 'alias', g: 'group', b: 'batch' }))
    routes.push({ ...byPath.get(`/v1/${long}`)!, path: `/v1/${short}` })
  routes.push({ ...byPath.get('/t/c/{token}')!, method: 'HEAD' })
  return routes
}

/** An erasure rewrites every table (seconds on this engine, tens under load): drawn a quarter as often, given longer. */
const heavy = (r: Route) => r.method === 'DELETE' && r.path === '/api/users/{id}'
const isIngest = (r: Route) => r.method === 'POST' && /^\/v1\/(?!pixel)/.test(r.path)

describe('fuzz: no input gives a 5xx', () => {
  const WEBHOOK_KEY = 'whk_fuzz_0123456789abcdef'
  const fx = useTestNudge({ env: { WEBHOOK_KEY } })

  it(
    `${REQUESTS} generated requests over every route: 0 responses ≥ 500, the process alive, acknowledged events stored`,
    { timeout: 120_000 + REQUESTS * 100 },
    async () => {
      const base = fx.nudge.url
      const doc = (await (await fetch(`${base}/openapi.json`)).json()) as any
      const routes = routesOf(doc)
      const schemas = new SchemaArbitraries(doc.components?.schemas ?? {})
      const key = fx.nudge.journeys.tracking.key

      const slug = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/)
      const token = (path: string): fc.Arbitrary<string> => {
        const kind = path.startsWith('/t/o') ? 'o' : path.startsWith('/t/c') ? 'c' : path.startsWith('/t/v') ? 'v' : 'u'
        const payload = fc.oneof(
          fc.record({ k: fc.constant('o' as const), m: slug }),
          fc.record({ k: fc.constant('c' as const), m: slug, u: fc.webUrl(), i: fc.nat(20) }),
          fc.record({ k: fc.constant('u' as const), m: slug, t: fc.constantFrom('marketing', 'tracking', 'x'), uk: slug }),
          fc.record({ k: fc.constant('v' as const), m: slug }),
        )
        const signed = payload.map((p) => signToken(key, p as never))
        const rightKind = payload.filter((p) => p.k === kind).map((p) => signToken(key, p as never))
        return fc.oneof(
          { weight: 4, arbitrary: rightKind },
          { weight: 1, arbitrary: signed },
          { weight: 1, arbitrary: signed.map((t) => t.slice(0, -3) + 'AAA') },
          { weight: 2, arbitrary: fc.string({ maxLength: 300 }) },
        )
      }
      const badSegment = fc.constantFrom('%', '%zz', '%ff%fe', '%c0%af', '..', '%2e%2e%2f', 'a'.repeat(5000), '%00', '%E0%A4%A')

      const paramValue = (route: Route, p: Route['params'][number]): fc.Arbitrary<string | undefined> => {
        if (p.name === 'token') return token(route.path).map(pct)
        const good = schemas.valid(p.schema).map((v) => (v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v)))
        const bad = nasty().map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '')))
        const value = fc.oneof({ weight: 6, arbitrary: good }, { weight: 2, arbitrary: bad })
        if (p.in === 'path')
          return fc.oneof({ weight: 9, arbitrary: value.map((v) => pct(v ?? 'x') || 'x') }, { weight: 1, arbitrary: badSegment })
        return fc.oneof({ weight: 3, arbitrary: value }, { weight: 1, arbitrary: fc.constant(undefined) })
      }

      const jsonBody = (route: Route): fc.Arbitrary<{ text?: string; bytes: Buffer; headers: Record<string, string> }> => {
        const ct = fc.oneof(
          { weight: 8, arbitrary: fc.constant('application/json') },
          { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
          { weight: 1, arbitrary: fc.constantFrom(...CHARSETS).map((c) => `application/json; charset=${c}`) },
        )
        const value = fc.oneof(
          { weight: 5, arbitrary: schemas.valid(route.body) },
          { weight: 5, arbitrary: schemas.mutated(route.body) },
          { weight: 1, arbitrary: nasty() },
        )
        const plain = fc.tuple(value, ct).map(([v, type]) => {
          const text = toJsonText(v)
          return { text, bytes: Buffer.from(text), headers: type ? { 'content-type': type } : ({} as Record<string, string>) }
        })
        const compressed = fc.tuple(schemas.valid(route.body), fc.constantFrom('gzip', 'deflate', 'br')).map(([v, enc]) => {
          const text = toJsonText(v)
          const raw = Buffer.from(text)
          const bytes = enc === 'gzip' ? gzipSync(raw) : enc === 'deflate' ? deflateSync(raw) : brotliCompressSync(raw)
          return { text, bytes, headers: { 'content-type': 'application/json', 'content-encoding': enc } }
        })
        const noise = fc
          .tuple(
            fc.uint8Array({ maxLength: 3000 }),
            fc.constantFrom(...CONTENT_TYPES),
            fc.constantFrom(...CHARSETS, undefined),
            fc.constantFrom(...ENCODINGS, undefined),
          )
          .map(([b, type, charset, enc]) => {
            const headers: Record<string, string> = {}
            if (type) headers['content-type'] = charset ? `${type}; charset=${charset}` : type
            if (enc) headers['content-encoding'] = enc
            return { bytes: Buffer.from(b), headers }
          })
        const truncated = fc.tuple(schemas.valid(route.body), fc.nat()).map(([v, cut]) => {
          const text = toJsonText(v)
          return {
            bytes: Buffer.from(text.slice(0, cut % (text.length + 1))),
            headers: { 'content-type': 'application/json' } as Record<string, string>,
          }
        })
        const form = fc
          .constantFrom(
            'List-Unsubscribe=One-Click',
            'topic=marketing&action=save',
            'action=unsubscribe_all',
            '--xyz\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--xyz--',
          )
          .map((t) => ({
            bytes: Buffer.from(t),
            headers: {
              'content-type': t.startsWith('--') ? 'multipart/form-data; boundary=xyz' : 'application/x-www-form-urlencoded',
            } as Record<string, string>,
          }))
        return fc.oneof(
          { weight: 10, arbitrary: plain },
          { weight: 1, arbitrary: compressed },
          { weight: 2, arbitrary: noise },
          { weight: 1, arbitrary: truncated },
          { weight: route.path.startsWith('/u/') ? 6 : 0, arbitrary: form },
        )
      }

      const requestOf = (route: Route): fc.Arbitrary<FuzzRequest> =>
        fc
          .record({
            params: fc.tuple(...route.params.map((p) => paramValue(route, p))),
            body:
              route.body || (route.method !== 'GET' && route.method !== 'DELETE' && route.method !== 'HEAD')
                ? jsonBody(route).map((b) => b as typeof b | undefined)
                : fc.constant(undefined),
            auth: fc.constantFrom('good', 'good', 'good', 'good', 'good', 'good', 'good', 'good', 'none', 'bad'),
            method: fc.oneof({ weight: 19, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
            webhookKey: fc.constantFrom(true, true, true, true, false),
            pixelKey: fc.constantFrom(true, true, true, false),
          })
          .map(({ params, body, auth, method, webhookKey, pixelKey }) => {
            let path = route.path
            const query = new URLSearchParams()
            route.params.forEach((p, i) => {
              const v = params[i]
              // Erased users get ids no ingest case uses: an erasure must not take away events the
              // ack check below expects (it deletes them, rightly).
              if (p.in === 'path') path = path.replace(`{${p.name}}`, heavy(route) ? `zz-erase-${v ?? 'x'}` : (v ?? 'x'))
              else if (v !== undefined) query.append(p.name, v)
            })
            if (route.path.startsWith('/v1/pixel') && pixelKey) query.set('writeKey', WRITE_KEY)
            const headers: Record<string, string> = { ...(body?.headers ?? {}) }
            // The webhook key goes in a header; a key in the URL (or the admin key) must be refused.
            if (route.path.startsWith('/webhooks')) {
              if (webhookKey) headers['x-nudge-webhook-key'] = WEBHOOK_KEY
              else query.set('key', ADMIN_KEY)
            }
            if (auth !== 'none') {
              if (route.auth === 'admin') headers.authorization = auth === 'good' ? `Bearer ${ADMIN_KEY}` : 'Bearer wrong'
              if (route.auth === 'writeKey') headers.authorization = auth === 'good' ? basic(WRITE_KEY) : basic('nope')
            }
            const qs = query.toString()
            const withBody = body && method !== 'GET' && method !== 'HEAD'
            return {
              method,
              url: `${base}${path}${qs ? `?${qs}` : ''}`,
              headers,
              ...(withBody ? { body: body.bytes, ...(body.text ? { text: body.text } : {}) } : {}),
              route,
            }
          })

      // Each route's arbitrary is built once (building is dearer than drawing).
      const requestArb = fc.oneof(...routes.map((r) => ({ weight: heavy(r) ? 1 : 4, arbitrary: requestOf(r) })))
      const statuses = new Map<number, number>()
      const failures: string[] = []
      const acknowledged = new Set<string>()
      let cases = 0

      const timeByRoute = new Map<string, { n: number; ms: number }>()
      const run = async (r: FuzzRequest) => {
        const started = performance.now()
        let status: number
        let text: string
        try {
          const res = await fetch(r.url, {
            method: r.method,
            headers: r.headers,
            ...(r.body ? { body: r.body } : {}),
            redirect: 'manual',
            signal: AbortSignal.timeout(heavy(r.route) ? 3 * REQUEST_TIMEOUT_MS : REQUEST_TIMEOUT_MS),
          })
          status = res.status
          text = await res.text()
        } catch (err) {
          status = 0
          text = `${String(err)} after ${Math.round(performance.now() - started)} ms`
        }
        cases++
        if (cases % 1000 === 0)
          console.log(`fuzz: ${cases} cases, ${failures.length} failures, ${Math.round((performance.now() - begun) / 1000)} s`)
        const t = timeByRoute.get(`${r.route.method} ${r.route.path}`) ?? { n: 0, ms: 0 }
        timeByRoute.set(`${r.route.method} ${r.route.path}`, { n: t.n + 1, ms: t.ms + performance.now() - started })
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
        if (status >= 500 || status === 0)
          failures.push(
            `${status} ${r.method} ${r.url.slice(0, 300)} ${JSON.stringify(r.headers)} body=${r.text?.slice(0, 300) ?? r.body?.subarray(0, 100).toString('hex') ?? ''} → ${text.slice(0, 300)}`,
          )
        if (status === 200 && isIngest(r.route) && r.method === 'POST' && r.text)
          for (const id of messageIdsOf(r.text, r.route.path)) acknowledged.add(id)
        if (status === 200 && r.route.path.startsWith('/v1/pixel') && r.method === 'GET') {
          const q = new URL(r.url).searchParams
          if (!q.has('data') && q.get('messageId')) acknowledged.add(q.get('messageId')!)
        }
        return status
      }

      console.log(`fuzz: seed ${SEED}, ${REQUESTS} requests (FUZZ_SEED / FUZZ_RUNS to change)`)
      const begun = performance.now()
      // A sliding window of PARALLEL requests in flight: each case starts its request and returns
      // once there is room, so one slow route (an erasure) does not hold the others back. Every case
      // runs (a failure is recorded, not stopped at), so one run reports every 5xx source.
      const inFlight = new Set<Promise<unknown>>()
      await fc
        .assert(
          fc.asyncProperty(requestArb, async (r) => {
            const p: Promise<unknown> = run(r).finally(() => inFlight.delete(p))
            inFlight.add(p)
            while (inFlight.size >= PARALLEL) await Promise.race(inFlight)
          }),
          { seed: SEED, numRuns: REQUESTS },
        )
        .catch((err) => {
          failures.push(String(err).slice(0, 2000))
        })
      await Promise.all(inFlight)

      const histogram = [...statuses.entries()]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s === 0 ? 'no-answer' : s}×${n}`)
        .join(' ')
      console.log(`fuzz summary: ${cases} cases run, seed ${SEED}; statuses ${histogram}; ${acknowledged.size} acknowledged messageIds`)
      const slowest = [...timeByRoute.entries()].sort(([, a], [, b]) => b.ms - a.ms).slice(0, 6)
      console.log(`fuzz time by route (top): ${slowest.map(([k, v]) => `${k} ${v.n}× ${Math.round(v.ms / v.n)} ms`).join('; ')}`)
      expect(failures, failures.slice(0, 20).join('\n')).toEqual([])

      // The process is alive and answering.
      expect((await fetch(`${base}/healthz`)).status).toBe(200)

      // Every event acknowledged with 200 is in the store.
      await fx.nudge.writer.drain()
      const ids = [...acknowledged]
      const stored = new Set<string>()
      for (let i = 0; i < ids.length; i += 1000) {
        const rows = await selectRows<{ message_id: string }>(
          fx.nudge.store.client,
          'SELECT DISTINCT message_id FROM events WHERE message_id IN {ids:Array(String)}',
          { ids: ids.slice(i, i + 1000) },
        )
        for (const r of rows) stored.add(r.message_id)
      }
      const missing = ids.filter((id) => !stored.has(id))
      expect(
        missing,
        `acknowledged but not stored: ${missing
          .slice(0, 10)
          .map((m) => JSON.stringify(m))
          .join(', ')}`,
      ).toEqual([])
      expect(ids.length).toBeGreaterThan(0)
    },
  )
})

function messageIdsOf(text: string, path: string): string[] {
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    return []
  }
  const events = /\/v1\/(batch|b)$/.test(path) ? (Array.isArray(body?.batch) ? body.batch : []) : [body]
  return events.map((e: any) => e?.messageId).filter((m: unknown): m is string => typeof m === 'string')
}
