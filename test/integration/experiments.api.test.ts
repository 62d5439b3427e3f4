import { OpenFeature } from '@openfeature/server-sdk'
import { describe, expect, it } from 'vitest'
import { openStore, selectRows } from '../../clickhouse/store.js'
import { FlagService } from '../../experiments/flags/flagService.js'
import { reminderTimingExperiment } from '../../experiments/examples.js'
import { admin, post, uid, useTestNudge } from '../helpers/harness.js'

const timing = {
  ...reminderTimingExperiment,
  stats: { engine: 'bayesian', sequential: { enabled: true, tuning: 5000 }, cuped: { enabled: true, preDays: 14 } },
  layer: { id: 'cart-step', range: [0, 0.5] },
}

describe('experiments API: definitions, lifecycle, assignment and exposures', () => {
  const fx = useTestNudge({ env: { CONFIG_POLL_MS: '100' } })
  const url = (p = '') => `${fx.nudge.url}/api/experiments${p}`

  it('validates: weights that do not sum to 1, duplicate keys, a sum metric without its property → 400 naming the field', async () => {
    const bad = await admin(url(), 'POST', {
      ...timing,
      variants: [
        { key: 'a', weight: 0.5 },
        { key: 'a', weight: 0.4 },
      ],
      primaryMetric: { event: 'Order Completed', kind: 'sum' },
    })
    expect(bad.status).toBe(400)
    expect(bad.json.error.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'variants', rule: 'weights_sum' }),
        expect.objectContaining({ path: 'variants[1].key', rule: 'unique' }),
        expect.objectContaining({ path: 'primaryMetric.property', rule: 'required' }),
      ]),
    )
  })

  it('creates a draft; metrics on events never received are warnings, not errors', async () => {
    await post(`${fx.nudge.url}/v1/track`, { userId: uid('u'), event: 'Order Completed', properties: { revenue: 10 } })
    const res = await admin(url(), 'POST', timing)
    expect(res.status).toBe(201)
    expect(res.json.experiment).toMatchObject({ key: timing.key, status: 'draft', version: 1, traffic: 1, unit: 'userId' })
    expect(res.json.warnings).toEqual([{ path: 'guardrailMetrics[0].event', message: 'no "Unsubscribed" event has been received yet' }])
    expect((await admin(url(), 'POST', timing)).status).toBe(409)
  })

  it('lifecycle: draft → running → stopped → rolled out; illegal moves are 409', async () => {
    expect((await admin(url(`/${timing.key}/stop`), 'POST')).status).toBe(409) // a draft cannot stop
    const started = await admin(url(`/${timing.key}/start`), 'POST')
    expect(started.json).toMatchObject({ status: 'running' })
    expect(started.json.startedAt).toBeTruthy()
    // A running experiment cannot change what would corrupt its data…
    const reweighted = await admin(url(`/${timing.key}`), 'PUT', {
      ...timing,
      variants: timing.variants.map((v, i) => ({ ...v, weight: i === 2 ? 0.2 : 0.4 })).reverse(),
    })
    expect(reweighted.status).toBe(409)
    expect(reweighted.json.error.issues).toEqual([expect.objectContaining({ path: 'variants', rule: 'immutable_while_running' })])
    // …but its name, traffic and schedule can.
    const renamed = await admin(url(`/${timing.key}`), 'PUT', { ...timing, name: 'Renamed', traffic: 0.9 })
    expect(renamed.json.experiment).toMatchObject({ name: 'Renamed', traffic: 0.9, status: 'running', version: 3 })
    // Another experiment on the same part of the layer cannot run at the same time.
    await admin(url(), 'POST', { ...timing, key: 'subject-test', layer: { id: 'cart-step', range: [0.4, 1] } })
    const overlap = await admin(url('/subject-test/start'), 'POST')
    expect(overlap.status).toBe(409)
    expect(overlap.json.error.issues[0]).toMatchObject({ path: 'layer.range', rule: 'overlap' })
  })

  it('assignment: sticky, explained, and the first exposure logged once', async () => {
    const { experiments } = fx.nudge
    const unit = 'user-42'
    const first = experiments.assign(timing.key, unit, { journey: 'cart-abandonment' })
    for (let i = 0; i < 5; i++) expect(experiments.assign(timing.key, unit).variant).toBe(first.variant)
    const explained = await admin(url(`/${timing.key}/assignment?unit=${unit}`))
    expect(explained.json).toMatchObject({ unit, variant: first.variant, reason: first.reason, bucket: first.bucket })
    // The layer keeps half the units out; look for one that is in, to see its exposure.
    const inside = Array.from({ length: 50 }, (_, i) => `user-${i}`).find((u) => experiments.assign(timing.key, u).inExperiment)!
    await experiments.flush()
    const rows = await selectRows<{ n: number; variant: string; context: string }>(
      fx.nudge.store.client,
      'SELECT count() AS n, any(variant) AS variant, any(context) AS context FROM experiment_exposures FINAL WHERE experiment_key = {k:String} AND unit = {u:String}',
      { k: timing.key, u: inside },
    )
    expect(Number(rows[0]!.n)).toBe(1)
    const view = await admin(url(`/${timing.key}/assignment?unit=${inside}`))
    expect(view.json.firstExposure).toMatchObject({ variant: view.json.variant })
    // Out of the layer's part: not in, nothing logged.
    const outside = Array.from({ length: 50 }, (_, i) => `user-${i}`).find(
      (u) => experiments.assign(timing.key, u).reason === 'outside_layer',
    )!
    expect((await admin(url(`/${timing.key}/assignment?unit=${outside}`))).json.firstExposure).toBeNull()
    expect((await admin(url('/nope/assignment?unit=u'))).status).toBe(404)
    // peek (for analysis) gives the same variant and logs nothing.
    const peeked = Array.from({ length: 50 }, (_, i) => `peek-${i}`).find((u) => experiments.peek(timing.key, u).inExperiment)!
    expect(experiments.peek(timing.key, peeked).variant).toBe(experiments.peek(timing.key, peeked).variant)
    await experiments.flush()
    expect((await admin(url(`/${timing.key}/assignment?unit=${peeked}`))).json.firstExposure).toBeNull()
    expect(experiments.assign(timing.key, peeked).variant).toBe(experiments.peek(timing.key, peeked).variant)
  })

  it('stop, then roll out the winner: everyone gets it', async () => {
    expect((await admin(url(`/${timing.key}/rollout`), 'POST', { variant: 'm15' })).status).toBe(409) // still running
    await admin(url(`/${timing.key}/stop`), 'POST')
    expect((await admin(url(`/${timing.key}/rollout`), 'POST', { variant: 'nope' })).json.error.issues[0]).toMatchObject({
      path: 'variant',
      rule: 'one_of',
    })
    const rolled = await admin(url(`/${timing.key}/rollout`), 'POST', { variant: 'm15' })
    expect(rolled.json).toMatchObject({ status: 'rolled_out', rolledOut: 'm15' })
    expect(fx.nudge.experiments.assign(timing.key, 'anyone')).toMatchObject({ variant: 'm15', reason: 'rolled_out', inExperiment: false })
  })
})

describe('flags API and the OpenFeature provider', () => {
  const fx = useTestNudge({ role: 'all', env: { CONFIG_POLL_MS: '100' } })
  const url = (p = '') => `${fx.nudge.url}/api/flags${p}`
  const key = 'cart_abandonment.reminder_delay'

  it('creates, serves through OpenFeature with reasons, audits every change, and refuses bad values', async () => {
    await admin(`${fx.nudge.url}/api/experiments`, 'POST', { ...timing, layer: undefined })
    await admin(`${fx.nudge.url}/api/experiments/${timing.key}/start`, 'POST')
    const bad = await admin(url(), 'POST', { key, type: 'duration', defaultValue: 'soonish' })
    expect(bad.status).toBe(400)
    expect(bad.json.error.issues[0]).toMatchObject({ path: 'defaultValue', rule: 'type' })
    // A bare number is refused: it would be milliseconds here but once meant seconds in segments.
    const bare = await admin(url(), 'POST', { key, type: 'duration', defaultValue: 3600 })
    expect(bare.status).toBe(400)
    expect(bare.json.error.issues).toEqual([
      expect.objectContaining({ path: 'defaultValue', rule: 'unit', message: expect.stringMatching(/with a unit/) }),
    ])

    const created = await admin(
      url(),
      'POST',
      { key, type: 'duration', defaultValue: '1h', rules: [{ id: 'timing', experiment: timing.key }] },
      { 'x-nudge-actor': 'maria@shop.example' },
    )
    expect(created.status).toBe(201)
    expect(created.json).toMatchObject({ key, defaultValue: 3_600_000, version: 1 })

    const client = OpenFeature.getClient()
    const units = Array.from({ length: 40 }, (_, i) => `shopper-${i}`)
    const details = await Promise.all(units.map((u) => client.getNumberDetails(key, 0, { targetingKey: u })))
    const byVariant = new Map(details.map((d) => [d.variant, d]))
    expect(byVariant.get('m15')).toMatchObject({ value: 900_000, reason: 'SPLIT', flagMetadata: { experimentKey: timing.key } })
    expect(byVariant.get('h1')).toMatchObject({ value: 3_600_000, reason: 'SPLIT' })
    // The holdout arm sets no delay: it falls through to the flag's default.
    expect(details.filter((d) => d.reason === 'DEFAULT').every((d) => d.value === 3_600_000)).toBe(true)
    expect(await client.getNumberDetails('no.such.flag', 42, {})).toMatchObject({ value: 42, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' })
    expect(await client.getBooleanDetails(key, false, {})).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' })

    const updated = await admin(
      url(`/${key}`),
      'PUT',
      { type: 'duration', defaultValue: '2h', rules: [] },
      { 'x-nudge-actor': 'sam@shop.example' },
    )
    expect(updated.json).toMatchObject({ defaultValue: 7_200_000, version: 2 })
    expect(await client.getNumberDetails(key, 0, { targetingKey: 'shopper-1' })).toMatchObject({ value: 7_200_000, reason: 'DEFAULT' })
    const audit = await admin(url(`/${key}/audit`))
    expect(audit.json.changes).toEqual([
      expect.objectContaining({
        actor: 'maria@shop.example',
        action: 'create',
        before: null,
        after: expect.objectContaining({ defaultValue: 3_600_000 }),
      }),
      expect.objectContaining({
        actor: 'sam@shop.example',
        action: 'update',
        before: expect.objectContaining({ defaultValue: 3_600_000 }),
        after: expect.objectContaining({ defaultValue: 7_200_000 }),
      }),
    ])
    const evaluated = await admin(url(`/${key}/evaluate`), 'POST', { context: { targetingKey: 'shopper-1' } })
    expect(evaluated.json).toMatchObject({ value: 7_200_000, reason: 'DEFAULT' })
  })

  it('the OpenAPI document describes experiments and flags from the same schemas', async () => {
    const doc = (await (await fetch(`${fx.nudge.url}/openapi.json`)).json()) as any
    for (const path of [
      '/api/experiments',
      '/api/experiments/{key}/assignment',
      '/api/experiments/{key}/rollout',
      '/api/flags',
      '/api/flags/{key}/audit',
    ])
      expect(doc.paths[path], path).toBeDefined()
    expect(doc.components.schemas.ExperimentDefinition.properties.variants).toBeDefined()
    expect(doc.components.schemas.FlagDefinition.properties.type.enum).toEqual(['boolean', 'string', 'number', 'duration', 'json'])
  })

  it('another process sees a change within a second, without a restart', async () => {
    // A second service on its own connection to the same store stands in for a worker process.
    const other = await openStore({ dataDir: `${fx.dataDir}/clickhouse` })
    const worker = new FlagService({ client: other.client, deps: { isMember: () => false, assign: () => undefined }, pollMs: 100 })
    await worker.load()
    worker.start()
    try {
      expect(worker.evaluate(key, 'number', 0, {}).value).toBe(7_200_000)
      const changed = new Promise<string[]>((resolve) => worker.onChange(resolve))
      const at = Date.now()
      await admin(url(`/${key}`), 'PUT', { type: 'duration', defaultValue: '45m', rules: [] })
      expect(await changed).toContain(key)
      expect(Date.now() - at).toBeLessThan(1000) // correctness: the documented propagation bound
      expect(worker.evaluate(key, 'number', 0, {})).toMatchObject({ value: 2_700_000, reason: 'DEFAULT' })
    } finally {
      worker.stop()
      await other.close()
    }
  })

  it('a journey delay from a timing experiment: the run records the value, reason and variant it used', async () => {
    const exp = {
      ...reminderTimingExperiment,
      key: 'probe-timing',
      variants: [
        { key: 'fast', weight: 0.5, payload: { flags: { 'probe.delay': '150ms' } } },
        { key: 'slow', weight: 0.5, payload: { flags: { 'probe.delay': '250ms' } } },
      ],
    }
    await admin(`${fx.nudge.url}/api/experiments`, 'POST', exp)
    await admin(`${fx.nudge.url}/api/experiments/probe-timing/start`, 'POST')
    await admin(url(), 'POST', {
      key: 'probe.delay',
      type: 'duration',
      defaultValue: '100ms',
      rules: [{ id: 'timing', experiment: 'probe-timing' }],
    })
    const unit = uid('shopper')
    const expected = fx.nudge.experiments.assign('probe-timing', unit).variant!
    const workflowId = uid('delay')
    const started = Date.now()
    const used = await fx.nudge.temporal.workflow.execute('flaggedDelayWorkflow', {
      taskQueue: `test-${process.pid}`,
      workflowId,
      args: ['probe.delay', unit, 60_000],
    })
    expect(used).toEqual({
      flag: 'probe.delay',
      value: expected === 'fast' ? 150 : 250,
      reason: 'SPLIT',
      variant: expected,
      experimentKey: 'probe-timing',
    })
    expect(Date.now() - started).toBeGreaterThanOrEqual(used.value) // it waited what it recorded
    const described = await fx.nudge.temporal.workflow.getHandle(workflowId).describe()
    expect(described.memo?.flags).toEqual({ 'probe.delay': used })
    expect(described.searchAttributes).toMatchObject({ ExperimentKey: ['probe-timing'], Variant: [expected] })
  })
})
