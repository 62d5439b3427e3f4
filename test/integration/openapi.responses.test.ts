import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allSpecs } from '../../api/app.js'
import { buildOpenApi } from '../../api/openapi.js'
import { type RouteSpec, checkResponses } from '../../api/route.js'
import { errorBody } from '../../core/errors.js'
import { reminderTimingExperiment } from '../../experiments/examples.js'
import { ADMIN_KEY, WRITE_KEY, basic, uid, useTestNudge } from '../helpers/harness.js'

/**
 * Real answers against their documented schemas, two ways: on the server every typed `reply` is
 * parsed with its route's schema (api/route.ts `checkResponses`), and here every answer a client
 * receives — errors included — is parsed with the schema /openapi.json publishes for its route
 * and status. Representative requests cover every tag: ingest, users, consent, segments,
 * experiments and results, flags, journeys (their runs and a live run's state), templates,
 * catalog, suppressions, messages, stats, reports, health.
 */
const serverSide: string[] = []
const seen = new Set<string>()
const doc = buildOpenApi(allSpecs, { version: 'test' }) as {
  paths: Record<string, Record<string, { responses: Record<number, { content?: Record<string, { schema?: Json }> }> }>>
  components: { schemas: Record<string, Json> }
}
const components = doc.components.schemas

type Json = Record<string, unknown>
/**
 * Fields an answer carries that its JSON Schema does not name (zod's parse lets them through, and
 * TypeScript does not see a mapper's extra field either): each is a drift from the document.
 */
function undocumented(schema: Json | undefined, value: unknown, at = '$'): string[] {
  if (!schema || value === null || typeof value !== 'object') return []
  const ref = schema.$ref as string | undefined
  if (ref) return undocumented(components[ref.split('/').pop()!], value, at)
  const branches = (schema.anyOf ?? schema.oneOf ?? schema.allOf) as Json[] | undefined
  if (branches) {
    const found = branches.map((b) => undocumented(b, value, at))
    return schema.allOf ? found.flat() : found.reduce((a, b) => (b.length < a.length ? b : a))
  }
  if (Array.isArray(value)) {
    const tuple = schema.prefixItems as Json[] | undefined
    return value.flatMap((v, i) => undocumented(tuple?.[i] ?? (schema.items as Json | undefined), v, `${at}[${i}]`))
  }
  const properties = schema.properties as Record<string, Json> | undefined
  const extra = schema.additionalProperties
  return Object.entries(value).flatMap(([k, v]) =>
    properties?.[k]
      ? undocumented(properties[k], v, `${at}.${k}`)
      : extra && typeof extra === 'object'
        ? undocumented(extra as Json, v, `${at}.${k}`)
        : properties && (extra === undefined || extra === false)
          ? [`${at}.${k}`]
          : [],
  )
}

function specFor(method: string, url: string): RouteSpec | undefined {
  const path = new URL(url).pathname
  return allSpecs.find((s) => s.method === method.toLowerCase() && new RegExp(`^${s.path.replace(/:[A-Za-z_]+/g, '[^/]+')}$`).test(path))
}

/** Sends a request and checks the answer against the documented schema of its route and status. */
async function call(method: string, url: string, body?: unknown, auth = `Bearer ${ADMIN_KEY}`) {
  const res = await fetch(url, {
    method,
    headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  })
  const text = await res.text()
  const json = res.headers.get('content-type')?.includes('application/json') && text ? JSON.parse(text) : undefined
  const spec = specFor(method, url)
  const where = `${method} ${new URL(url).pathname} → ${res.status}`
  expect(spec, `${where}: no documented route`).toBeDefined()
  const documented = spec!.responses[res.status]
  // A 401/404 the guards and the fallback answer is the one error body, documented or not.
  const schema = documented?.schema ?? (res.status >= 400 ? errorBody : undefined)
  if (res.status < 400) expect(documented, `${where}: an undocumented status`).toBeDefined()
  if (schema) {
    expect(json, `${where}: a JSON body`).toBeDefined()
    const parsed = schema.safeParse(json)
    expect(parsed.success, `${where}: ${parsed.error?.message}\n${text.slice(0, 500)}`).toBe(true)
    const published = (doc.paths[spec!.path.replace(/:([A-Za-z_]+)/g, '{$1}')]?.[spec!.method]?.responses[res.status]?.content?.[
      'application/json'
    ]?.schema ?? components.Error) as Json
    expect(undocumented(published, json), `${where}: fields /openapi.json does not name`).toEqual([])
  } else if (documented?.contentType) expect(res.headers.get('content-type') ?? '', where).toContain(documented.contentType.split('/')[1])
  seen.add(`${spec!.method} ${spec!.path} ${res.status}`)
  return { status: res.status, json }
}

beforeAll(() =>
  checkResponses((spec, status, body) => {
    const r = spec.responses[status]
    if (!r) serverSide.push(`${spec.method} ${spec.path}: status ${status} is not documented`)
    const parsed = r?.schema?.safeParse(body)
    if (parsed && !parsed.success) serverSide.push(`${spec.method} ${spec.path} ${status}: ${parsed.error.message}`)
  }),
)
afterAll(() => checkResponses(undefined))

describe('real answers match the documented schemas', () => {
  const fx = useTestNudge({ role: 'all', env: { CONFIG_POLL_MS: '100', FREQUENCY_CAP: '', QUIET_HOURS: '', LOG_LEVEL: 'warn' } })
  const api = (p: string) => `${fx.nudge.url}${p}`
  const userId = uid('oa')

  it('health, ingest, users and consent', async () => {
    expect((await call('GET', api('/healthz'))).status).toBe(200)
    const wk = basic(WRITE_KEY)
    await call('POST', api('/v1/identify'), { userId, traits: { email: `${userId}@shop.example`, plan: 'pro' } }, wk)
    const product = { product_id: 'oa-p1', name: 'Shoe', category: 'shoes', price: 50 }
    expect((await call('POST', api('/v1/track'), { userId, event: 'Product Viewed', properties: product }, wk)).status).toBe(200)
    expect(
      (await call('POST', api('/v1/batch'), { batch: [{ type: 'track', userId, event: 'Product Added', properties: product }] }, wk))
        .status,
    ).toBe(200)
    expect((await call('POST', api('/v1/track'), { event: 'No user' }, wk)).status).toBe(400)
    expect((await call('POST', api('/v1/track'), { userId, event: 'E' }, 'Basic bm9wZTo=')).status).toBe(401)
    expect((await call('GET', api(`/api/users/${userId}`))).json.userId).toBe(userId)
    expect((await call('GET', api(`/api/users/${userId}/export`))).json.userId).toBe(userId)
    expect((await call('GET', api(`/api/users/${uid('nobody')}`))).status).toBe(404)
    expect((await call('GET', api(`/api/users/${userId}`), undefined, 'Bearer wrong')).status).toBe(401)
    expect((await call('POST', api('/api/consent'), { userId, topics: { marketing: true } })).status).toBe(200)
    expect((await call('GET', api(`/api/consent/${userId}`))).json.consent.marketing).toBe(true)
  })

  it('segments, experiments with results, flags', async () => {
    const rule = { trait: { key: 'plan', op: 'exists' } }
    const id = uid('seg').toLowerCase()
    expect((await call('POST', api('/api/segments/validate'), { rule })).status).toBe(200)
    expect((await call('POST', api('/api/segments/preview'), { rule })).status).toBe(200)
    expect((await call('POST', api('/api/segments/validate'), { rule: { trait: { op: 'exists' } } })).status).toBe(400)
    expect((await call('POST', api('/api/segments'), { id, name: 'Has a plan', rule })).status).toBe(201)
    await call('GET', api('/api/segments'))
    await call('GET', api(`/api/segments/${id}`))
    await call('POST', api(`/api/segments/${id}/recompute`))
    await call('GET', api(`/api/segments/${id}/members?limit=10`))
    await call('GET', api(`/api/segments/${id}/size-history`))

    const key = uid('exp').toLowerCase().replace(/_/g, '-')
    expect((await call('POST', api('/api/experiments'), { ...reminderTimingExperiment, key })).status).toBe(201)
    await call('GET', api('/api/experiments'))
    expect((await call('POST', api(`/api/experiments/${key}/start`))).json.status).toBe('running')
    expect((await call('GET', api(`/api/experiments/${key}/assignment?unit=${userId}`))).json.unit).toBe(userId)
    expect((await call('GET', api(`/api/experiments/${key}/results`))).json.experiment).toBe(key)
    expect((await call('POST', api(`/api/experiments/${key}/rollout`), { variant: 'h1' })).status).toBe(409)
    expect((await call('GET', api('/api/experiments/no-such-one'))).status).toBe(404)

    const flag = uid('flag').toLowerCase()
    expect((await call('POST', api('/api/flags'), { key: flag, type: 'duration', defaultValue: '1h' })).status).toBe(201)
    await call('PUT', api(`/api/flags/${flag}`), { type: 'duration', defaultValue: '2h', rules: [] })
    await call('GET', api('/api/flags'))
    expect((await call('GET', api(`/api/flags/${flag}/audit`))).json.changes).toHaveLength(2)
    expect((await call('POST', api(`/api/flags/${flag}/evaluate`), { context: { targetingKey: userId } })).json.value).toBe(7_200_000)
  })

  it('journeys: definitions, runs and a live run’s state', async () => {
    const id = uid('j').toLowerCase().replace(/_/g, '-')
    const event = `Probe ${id}`
    const journey = { id, name: 'Probe', trigger: { type: 'event', event }, steps: [{ id: 'wait', type: 'delay', duration: '1h' }] }
    expect((await call('POST', api('/api/journeys'), journey)).status).toBe(201)
    expect((await call('POST', api('/api/journeys'), { ...journey, steps: [] })).status).toBe(400)
    await call('GET', api('/api/journeys'))
    await call('GET', api(`/api/journeys/${id}/versions/1`))
    expect((await call('POST', api(`/api/journeys/${id}/activate`))).json.status).toBe('active')
    await call('POST', api('/v1/track'), { userId, event }, basic(WRITE_KEY))
    let runs: unknown[] = []
    for (let i = 0; i < 100 && runs.length === 0; i++) {
      runs = (await call('GET', api(`/api/journeys/${id}/runs`))).json.runs
      if (runs.length === 0) await new Promise((r) => setTimeout(r, 100))
    }
    expect(runs).toHaveLength(1)
    const state = await call('GET', api(`/api/journeys/${id}/runs/${userId}/state`))
    expect(state.json).toMatchObject({ journeyId: id, userKey: userId, step: 'wait' })
    expect((await call('GET', api(`/api/journeys/${id}/runs/${uid('nobody')}/state`))).status).toBe(404)
    expect((await call('POST', api(`/api/journeys/${id}/pause`))).json.status).toBe('paused')
  })

  it('templates, catalog, suppressions, messages', async () => {
    const id = uid('tpl').toLowerCase()
    expect((await call('POST', api('/api/templates'), { id, subject: 'Hi {{ user.email }}', body: '<p>Hello</p>' })).status).toBe(201)
    await call('PUT', api(`/api/templates/${id}`), { subject: 'Hi again', body: '<p>Hello</p>' })
    await call('GET', api('/api/templates'))
    await call('GET', api(`/api/templates/${id}/versions`))
    expect((await call('POST', api(`/api/templates/${id}/preview`), { userId })).json.subject).toBe('Hi again')
    expect((await call('POST', api('/api/templates'), { id, subject: 'Hi {{ user.name ', body: 'x' })).status).toBe(400)

    expect((await call('PUT', api('/api/catalog/products'), { products: [{ product_id: 'oa-p1', name: 'Shoe', price: 50 }] })).status).toBe(
      200,
    )
    expect((await call('GET', api('/api/catalog/products/oa-p1'))).json.id).toBe('oa-p1')
    expect((await call('GET', api(`/api/recommendations/${userId}?block=recently_viewed`))).json.userId).toBe(userId)

    const email = `${uid('s')}@shop.example`
    expect((await call('POST', api('/api/suppressions'), { email })).json.suppressed).toBe(true)
    await call('GET', api(`/api/suppressions/${email}`))
    expect((await call('DELETE', api(`/api/suppressions/${email}`))).json.suppressed).toBe(false)
    await call('GET', api('/api/messages'))
  })

  it('stats, reports', async () => {
    const arms = [
      { name: 'control', n: 1000, sum: 100 },
      { name: 'a', n: 1000, sum: 130 },
    ]
    await call('POST', api('/api/stats/analyze'), { metric: { type: 'binomial' }, engine: 'frequentist', differenceType: 'relative', arms })
    await call('POST', api('/api/stats/srm'), { observed: [1000, 1200, 900], weights: [0.5, 0.5, 0] })
    await call('POST', api('/api/stats/adjust'), { pValues: [0.04, 0.01, 0.03], method: 'holm' })
    await call('POST', api('/api/stats/power'), { metric: { type: 'binomial', conversionRate: 0.1 }, totalUnits: 9000, arms: 3 })
    expect((await call('POST', api('/api/stats/analyze'), { arms: [] })).status).toBe(400)
    await call('GET', api('/api/reports/trigger-latency'))
    await call('GET', api('/api/reports/false-triggers'))
    await call('GET', api('/api/reports/holdout'))
  })

  it('every answer the server sent matched its schema, across the documented surface', () => {
    expect(serverSide).toEqual([])
    const routes = new Set([...seen].map((s) => s.split(' ').slice(0, 2).join(' ')))
    // At least one answer from most routes (the tracking links, webhooks and pages have tests of their own).
    expect(routes.size).toBeGreaterThanOrEqual(50)
    expect([...seen].filter((s) => Number(s.split(' ')[2]) >= 400).length).toBeGreaterThanOrEqual(8)
  })
})
