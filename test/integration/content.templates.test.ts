import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { admin, uid, useTestNudge } from '../helpers/harness.js'
import { activeJourney, endedRun, identify, messagesTo, rawMessage, sleep, track, waitFor } from '../helpers/journeys.js'

/** Templates through the API: versions, compile errors with positions, preview, the sandbox. */
describe('templates', () => {
  const fx = useTestNudge({ role: 'all', env: { CONFIG_POLL_MS: '100', FREQUENCY_CAP: '', QUIET_HOURS: '', LOG_LEVEL: 'warn' } })
  const base = () => fx.nudge.url!
  const mjml = (inner: string) => `<mjml><mj-body><mj-section><mj-column>${inner}</mj-column></mj-section></mj-body></mjml>`

  it('saves MJML templates as versions; the newest is current; every version stays readable', async () => {
    const id = uid('tpl').toLowerCase()
    const v1 = await admin(`${base()}/api/templates`, 'POST', {
      id,
      format: 'mjml',
      subject: 'Hello {{ user.first_name | default: "you" }}',
      body: mjml('<mj-text>One</mj-text>'),
    })
    expect(v1.status).toBe(201)
    expect(v1.json.version).toBe(1)
    const v2 = await admin(`${base()}/api/templates/${id}`, 'PUT', {
      format: 'mjml',
      subject: 'Hello again',
      body: mjml('<mj-text>Two</mj-text>'),
    })
    expect(v2.json.version).toBe(2)
    expect((await admin(`${base()}/api/templates/${id}`)).json.definition.subject).toBe('Hello again')
    const versions = (await admin(`${base()}/api/templates/${id}/versions`)).json.versions
    expect(versions.map((v: { version: number }) => v.version)).toEqual([1, 2])
    const preview = await admin(`${base()}/api/templates/${id}/preview`, 'POST', {})
    expect(preview.status).toBe(200)
    expect(preview.json.html).toContain('Two')
    expect(preview.json.html).toMatch(/<!doctype html>/i)
  })

  it('a syntax error → 400 naming the field, the line and the column; nothing is saved', async () => {
    const id = uid('bad').toLowerCase()
    const res = await admin(`${base()}/api/templates`, 'POST', {
      id,
      subject: 'ok',
      body: '<p>fine</p>\n<p>{% if user.first_name %}hi</p>',
    })
    expect(res.status).toBe(400)
    const issue = res.json.error.issues.find((i: { path: string }) => i.path === 'body')
    expect(issue).toMatchObject({ rule: 'liquid_syntax', line: 2 })
    expect(typeof issue.column).toBe('number')
    const subj = await admin(`${base()}/api/templates`, 'POST', { id, subject: 'Hi {{ user.name ', body: '<p>x</p>' })
    expect(subj.json.error.issues[0]).toMatchObject({ path: 'subject', rule: 'liquid_syntax', line: 1 })
    const badMjml = await admin(`${base()}/api/templates`, 'POST', {
      id,
      format: 'mjml',
      subject: 'x',
      body: '<mjml><mj-body><mj-sectionx></mj-sectionx></mj-body></mjml>',
    })
    expect(badMjml.json.error.issues[0]).toMatchObject({ path: 'body', rule: 'mjml', line: 1 })
    const unknownFilter = await admin(`${base()}/api/templates`, 'POST', { id, subject: 'x', body: '{{ user.name | shout }}' })
    expect(unknownFilter.status).toBe(400)
    expect((await admin(`${base()}/api/templates/${id}`)).status).toBe(404)
  })

  it('preview renders for a real user with their profile, and for a sample profile, without sending', async () => {
    const userId = uid('pv')
    await identify(base(), userId, { email: `${userId}@example.test`, first_name: 'Grace', locale: 'fr-FR', currency: 'EUR' })
    const id = uid('money').toLowerCase()
    await admin(`${base()}/api/templates`, 'POST', {
      id,
      subject: '{{ user.first_name }}: {{ 3 | pluralize: "article", "articles", locale }}',
      body: '<p>{{ event.properties.price | money: currency, locale }}</p><p>{{ event.properties.at | local_date: "long", locale, "Europe/Paris" }}</p>{% render "footer", urls: urls %}',
    })
    const real = await admin(`${base()}/api/templates/${id}/preview`, 'POST', {
      userId,
      event: { name: 'Product Viewed', properties: { price: 1234.5, at: '2026-03-01T23:30:00Z' } },
    })
    expect(real.status).toBe(200)
    expect(real.json.subject).toBe('Grace: 3 articles')
    expect(real.json.html).toMatch(/1\s234,50\s€/)
    expect(real.json.html).toContain('2 mars 2026') // the user's locale, in the given time zone (already 2 March in Paris)
    expect(real.json.html).toContain('/u/') // the unsubscribe link in the footer partial
    const sample = await admin(`${base()}/api/templates/${id}/preview`, 'POST', {
      profile: { first_name: 'Sam' },
      event: { name: 'X', properties: { price: 2, at: '2026-03-01T23:30:00Z' } },
    })
    expect(sample.json.subject).toBe('Sam: 3 articles')
    expect(sample.json.html).toContain('$2.00')
    expect(await messagesTo(base(), `${userId}@example.test`)).toEqual([])
  })

  it('the sandbox: no prototype access, strict variables, loop and output limits — a 400 at preview, never a half-rendered email', async () => {
    const cases: [string, string][] = [
      ['proto', '{{ user.constructor.name }}{{ user.__proto__ }}'],
      ['missing', 'Hello {{ user.no_such_trait }}'],
      ['loop', '{% for i in (1..50000000) %}x{% endfor %}'],
      [
        'output',
        '{% assign s = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" %}{% for i in (1..6000) %}{{ s }}{% endfor %}',
      ],
    ]
    for (const [name, body] of cases) {
      const id = uid(`sb-${name}`).toLowerCase()
      expect((await admin(`${base()}/api/templates`, 'POST', { id, subject: 'x', body })).status).toBe(201)
      const res = await admin(`${base()}/api/templates/${id}/preview`, 'POST', { profile: { first_name: 'A' } })
      expect(res.status, name).toBe(400)
      expect(res.json.error.issues[0].rule).toBe('render')
    }
    // Defaults make a missing variable fine.
    const id = uid('sb-default').toLowerCase()
    await admin(`${base()}/api/templates`, 'POST', {
      id,
      subject: 'x',
      body: 'Hello {{ user.no_such_trait | default: "friend" }}{% if user.nope %}!{% endif %}',
    })
    expect((await admin(`${base()}/api/templates/${id}/preview`, 'POST', {})).json.html).toBe('Hello friend')
  })

  it("a subject override that does not parse: a journey step's is a 400 at save naming the field; an experiment variant's skips the send as template_error at once — never retried", async () => {
    const id = uid('sj')
    const send = { id: 'mail', type: 'send', template: 'cart-reminder', subject: 'Hi {{ user.first_name ' }
    const refused = await admin(`${base()}/api/journeys`, 'POST', {
      id,
      name: id,
      trigger: { type: 'event', event: 'Subject Probe' },
      steps: [send],
    })
    expect(refused.status).toBe(400)
    expect(refused.json.error.issues).toContainEqual(expect.objectContaining({ path: 'steps[0].subject', rule: 'liquid_syntax' }))
    // A variant's payload is free-form JSON: its subject is parsed at the send.
    const key = uid('subj-exp').toLowerCase().replaceAll('_', '-')
    const metric = { key: 'orders', event: 'Order Completed', kind: 'conversion' }
    const created = await admin(`${base()}/api/experiments`, 'POST', {
      key,
      name: key,
      primaryMetric: metric,
      variants: [
        { key: 'control', weight: 0 },
        { key: 'broken', weight: 1, payload: { subject: 'Hi {{ user.first_name ' } },
      ],
    })
    expect(created.status, JSON.stringify(created.json)).toBe(201)
    expect((await admin(`${base()}/api/experiments/${key}/start`, 'POST')).status).toBe(200)
    await activeJourney(base(), {
      id,
      name: id,
      trigger: { type: 'event', event: 'Subject Probe', where: [{ path: 'lane', op: 'eq', value: id }] },
      steps: [
        { id: 'split', type: 'experiment', experiment: key },
        { id: 'mail', type: 'send', template: 'cart-reminder' },
      ],
    })
    const userId = uid('su')
    await identify(base(), userId, { email: `${userId}@example.test`, first_name: 'Lin' })
    await track(base(), userId, 'Subject Probe', { lane: id })
    // Retried as a transient failure, the send would back off for ~1.5 h before the run ended.
    const run = await endedRun(base(), id, userId, 15_000)
    expect(run.outcome).toBe('template_error')
    expect(await messagesTo(base(), `${userId}@example.test`)).toEqual([])
  })

  it('a template that cannot render for a user skips the send with reason template_error — no email goes out', async () => {
    const tpl = uid('needs').toLowerCase()
    await admin(`${base()}/api/templates`, 'POST', {
      id: tpl,
      subject: 'For {{ user.first_name }}',
      body: '<p>{{ event.properties.coupon }}</p>',
    })
    const id = uid('tj')
    await activeJourney(base(), {
      id,
      name: id,
      trigger: { type: 'event', event: 'Coupon Viewed', where: [{ path: 'lane', op: 'eq', value: id }] },
      steps: [{ id: 'mail', type: 'send', template: tpl }],
    })
    const userId = uid('tu')
    await identify(base(), userId, { email: `${userId}@example.test`, first_name: 'Lin' })
    await track(base(), userId, 'Coupon Viewed', { lane: id }) // no coupon property: strict variables fail
    const run = await endedRun(base(), id, userId)
    expect(run.outcome).toBe('template_error')
    await sleep(300)
    expect(await messagesTo(base(), `${userId}@example.test`)).toEqual([])
    // With the property, the same template sends.
    const other = uid('tu')
    await identify(base(), other, { email: `${other}@example.test`, first_name: 'Max' })
    await track(base(), other, 'Coupon Viewed', { lane: id, coupon: 'C-1' })
    const [m] = await waitFor(
      async () => (await messagesTo(base(), `${other}@example.test`)).length > 0 && messagesTo(base(), `${other}@example.test`),
    )
    expect(await rawMessage(base(), m!.messageId)).toContain('C-1')
  })

  it('recommendations and behavioral flags from seeded behavior: the expected products, and the seed’s conditional content', async () => {
    const lane = uid('shop').toLowerCase()
    const pid = (n: number) => `${lane}-p${n}`
    await admin(`${base()}/api/catalog/products`, 'PUT', {
      products: [1, 2, 3, 4, 5].map((n) => ({
        product_id: pid(n),
        name: `Item ${n}`,
        category: n <= 3 ? `${lane}-shoes` : `${lane}-bags`,
        price: 50 + n,
        currency: 'EUR',
        url: `https://shop.example/${n}`,
      })),
    })
    // Two orders put p1 and p3 together; the viewer looked at p1 three times and at p2 once.
    for (const buyer of [uid('b'), uid('b')])
      await track(base(), buyer, 'Order Completed', { order_id: uid('o'), products: [{ product_id: pid(1) }, { product_id: pid(3) }] })
    const viewer = uid('v')
    for (const n of [1, 1, 1, 2]) await track(base(), viewer, 'Product Viewed', { product_id: pid(n) }, { messageId: uid('m') })
    const loyal = uid('l')
    await track(
      base(),
      loyal,
      'Order Completed',
      { order_id: uid('o'), products: [{ product_id: pid(4) }] },
      { timestamp: new Date(Date.now() - 5 * 86_400_000).toISOString() },
    )
    await fx.nudge.recommendations.refresh({ full: true })

    const id = uid('recs').toLowerCase()
    const body =
      '{% for p in recommendations.recently_viewed %}{{ p.id }} {% endfor %}|{% for p in recommendations.bought_together %}{{ p.id }} {% endfor %}|' +
      '{{ behavior.most_viewed_product.id }}x{{ behavior.most_viewed_product.views }}|{{ behavior.favourite_category }}|' +
      '{% if behavior.days_since_purchase != nil and behavior.days_since_purchase < 30 %}loyalty discount{% else %}upsell{% endif %}'
    expect((await admin(`${base()}/api/templates`, 'POST', { id, subject: 'x', body })).status).toBe(201)
    const seen = (await admin(`${base()}/api/templates/${id}/preview`, 'POST', { userId: viewer })).json.html.split('|')
    expect(seen[0].trim().split(' ').slice(0, 2)).toEqual([pid(2), pid(1)]) // newest first (then fallbacks fill the block)
    expect(seen[1].trim().split(' ')[0]).toBe(pid(3)) // bought with p1
    expect(seen[2]).toBe(`${pid(1)}x3`)
    expect(seen[3]).toBe(`${lane}-shoes`)
    expect(seen[4]).toBe('upsell')
    const loyalView = (await admin(`${base()}/api/templates/${id}/preview`, 'POST', { userId: loyal })).json.html.split('|')
    expect(loyalView[4]).toBe('loyalty discount')
    // A user with no history still gets products (the fallback), never an empty block.
    const fresh = (await admin(`${base()}/api/recommendations/${uid('nobody')}?block=similar`)).json
    expect(fresh.products.length).toBeGreaterThan(0)
  })

  it('the OpenAPI document describes templates, catalog, suppressions, tracking and webhooks', async () => {
    const doc = (await (await fetch(`${base()}/openapi.json`)).json()) as any
    for (const path of [
      '/api/templates',
      '/api/templates/{id}/preview',
      '/api/catalog/products',
      '/api/recommendations/{userId}',
      '/api/suppressions',
      '/t/c/{token}',
      '/u/{token}',
      '/webhooks/email/{provider}',
    ])
      expect(doc.paths[path], path).toBeDefined()
    expect(doc.components.schemas.TemplatePreviewRequest.properties.userId).toBeDefined()
  })

  describe('templates never reach the file system', () => {
    // Secrets an attacker would want, where they live: the data directory (the generated link-signing
    // key among them) and the system. Each file's text is a marker that must never come back.
    const secrets = () => {
      const dir = join(fx.dataDir, 'probe')
      mkdirSync(dir, { recursive: true })
      const files = {
        html: join(dir, 'secret.html'),
        css: join(dir, 'secret.css'),
        mjml: join(dir, 'secret.mjml'),
        liquid: join(dir, 'secret.liquid'),
      }
      writeFileSync(files.html, '<b>FILE-MARKER-HTML</b>')
      writeFileSync(files.css, '.x { color: red } /* FILE-MARKER-CSS */ .FILE-MARKER-CSS { color: blue }')
      writeFileSync(files.mjml, '<mj-section><mj-column><mj-text>FILE-MARKER-MJML</mj-text></mj-column></mj-section>')
      writeFileSync(files.liquid, 'FILE-MARKER-LIQUID')
      const linkKey = readFileSync(join(fx.dataDir, 'link-signing.key'), 'utf8').trim()
      return { files, linkKey, markers: ['FILE-MARKER', 'root:x:0:0', linkKey] }
    }
    const leaks = (text: string, markers: string[]) => markers.filter((m) => text.includes(m))

    it('<mj-include> in any form (html, css, mjml; absolute, relative, in mj-head or mj-attributes, any case) → 400 naming the tag, nothing saved, no file read', async () => {
      const { files, markers } = secrets()
      const rel = (f: string) => relative(process.cwd(), f) // `../../…` from where the process runs
      const head = (inner: string) =>
        `<mjml><mj-head>${inner}</mj-head><mj-body><mj-section><mj-column><mj-text>hi</mj-text></mj-column></mj-section></mj-body></mjml>`
      const bodyWith = (inner: string) =>
        `<mjml><mj-body>${inner}<mj-section><mj-column><mj-text>hi</mj-text></mj-column></mj-section></mj-body></mjml>`
      const cases: [string, string][] = [
        ['passwd-html', bodyWith('<mj-include path="/etc/passwd" type="html" />')],
        ['passwd-css', head('<mj-include path="/etc/passwd" type="css" />')],
        ['data-html', bodyWith(`<mj-include path="${files.html}" type="html"/>`)],
        ['data-css', head(`<mj-include path="${files.css}" type="css" css-inline="inline"/>`)],
        ['data-mjml', bodyWith(`<mj-include path="${files.mjml}"/>`)],
        ['relative-html', bodyWith(`<mj-include path="${rel(files.html)}" type="html"/>`)],
        ['relative-mjml', bodyWith(`<mj-include path="./${rel(files.mjml)}"></mj-include>`)],
        ['link-key', bodyWith(`<mj-include path="${join(fx.dataDir, 'link-signing.key')}" type="html"/>`)],
        ['in-attributes', head(`<mj-attributes><mj-include path="${files.css}" type="css"/></mj-attributes>`)],
        ['upper-case', bodyWith(`<MJ-INCLUDE path="${files.html}" type="html"/>`)],
        ['whitespace', bodyWith(`<mj-include\n\tpath = "${files.html}"\n\ttype="html"\n/>`)],
        ['url-encoded', bodyWith(`<mj-include path="${encodeURIComponent(files.html)}" type="html"/>`)],
        [
          'in-column',
          `<mjml><mj-body><mj-section><mj-column><mj-include path="${files.mjml}" /></mj-column></mj-section></mj-body></mjml>`,
        ],
      ]
      // A template that saved fine before: a refused update must leave it as it was.
      const kept = uid('inc-kept').toLowerCase()
      expect(
        (await admin(`${base()}/api/templates`, 'POST', { id: kept, format: 'mjml', subject: 'x', body: mjml('<mj-text>KEPT</mj-text>') }))
          .status,
      ).toBe(201)
      for (const [name, body] of cases) {
        const id = uid(`inc-${name}`).toLowerCase()
        const created = await admin(`${base()}/api/templates`, 'POST', { id, format: 'mjml', subject: 'x', body })
        expect(created.status, name).toBe(400)
        expect(created.json.error.issues, name).toContainEqual(
          expect.objectContaining({ path: 'body', rule: 'mjml_include_forbidden', message: expect.stringContaining('mj-include') }),
        )
        expect(leaks(JSON.stringify(created.json), markers), name).toEqual([])
        expect((await admin(`${base()}/api/templates/${id}`)).status, name).toBe(404)
        const updated = await admin(`${base()}/api/templates/${kept}`, 'PUT', { format: 'mjml', subject: 'x', body })
        expect(updated.status, name).toBe(400)
        expect(leaks(JSON.stringify(updated.json), markers), name).toEqual([])
      }
      const preview = await admin(`${base()}/api/templates/${kept}/preview`, 'POST', {})
      expect(preview.status).toBe(200)
      expect(preview.json.html).toContain('KEPT')
      expect(leaks(JSON.stringify(preview.json), markers)).toEqual([])
      expect((await admin(`${base()}/api/templates/${kept}/versions`)).json.versions).toHaveLength(1)
      // Inert text is not a tag: a commented-out include and the words in a text block save fine.
      const inert = uid('inc-inert').toLowerCase()
      const fine = await admin(`${base()}/api/templates`, 'POST', {
        id: inert,
        format: 'mjml',
        subject: 'x',
        body: `<mjml><mj-body><!-- <mj-include path="${files.html}" type="html" /> --><mj-section><mj-column><mj-text>use mj-include &lt;here&gt;</mj-text></mj-column></mj-section></mj-body></mjml>`,
      })
      expect(fine.status).toBe(201)
      expect(leaks(JSON.stringify((await admin(`${base()}/api/templates/${inert}/preview`, 'POST', {})).json), markers)).toEqual([])
    })

    it('a stored version with <mj-include> (saved before this check) is not loaded: preview serves the last good version and reads no file', async () => {
      const { files, markers } = secrets()
      const id = uid('inc-stored').toLowerCase()
      expect(
        (await admin(`${base()}/api/templates`, 'POST', { id, format: 'mjml', subject: 'x', body: mjml('<mj-text>GOOD</mj-text>') }))
          .status,
      ).toBe(201)
      const definition = {
        id,
        format: 'mjml',
        subject: 'x',
        topic: 'marketing',
        body: `<mjml><mj-body><mj-include path="${files.html}" type="html"/><mj-include path="/etc/passwd" type="html"/></mj-body></mjml>`,
      }
      await fx.nudge.store.client.insert({
        table: 'templates',
        values: [{ id, version: 2, definition: JSON.stringify(definition), created_at: Date.now() }],
        format: 'JSONEachRow',
      })
      await fx.nudge.journeys.templates.load()
      const preview = await admin(`${base()}/api/templates/${id}/preview`, 'POST', {})
      expect(preview.status).toBe(200)
      expect(preview.json.version).toBe(1)
      expect(preview.json.html).toContain('GOOD')
      expect(leaks(JSON.stringify(preview.json), markers)).toEqual([])
    })

    it('Liquid include, render and layout resolve only Nudge’s own partials: file paths, relative paths and object keys are unknown partials (400 at preview)', async () => {
      const { files, markers } = secrets()
      const noExt = files.liquid.slice(0, -'.liquid'.length)
      const cases: [string, string][] = [
        ['include-passwd', "{% include '/etc/passwd' %}"],
        ['render-absolute', `{% render '${noExt}' %}`],
        ['render-relative', `{% render '${relative(process.cwd(), noExt)}' %}`],
        ['render-dotdot', `{% render '../../../../../../../..${noExt}' %}`],
        ['include-with-ext', `{% include '${files.liquid}' %}`],
        ['layout', `{% layout '${noExt}' %}body`],
        ['dynamic-name', `{% assign f = '${noExt}' %}{% include f %}`],
        ['object-key', "{% include 'constructor' %}{% render '__proto__' %}"],
      ]
      for (const [name, body] of cases) {
        const id = uid(`lq-${name}`).toLowerCase()
        const saved = await admin(`${base()}/api/templates`, 'POST', { id, subject: 'x', body })
        expect(saved.status, name).toBe(201) // names are looked up when rendering (a name can be a variable)
        const res = await admin(`${base()}/api/templates/${id}/preview`, 'POST', {})
        expect(res.status, name).toBe(400)
        expect(res.json.error.issues[0], name).toMatchObject({ path: 'body', rule: 'render' })
        expect(leaks(JSON.stringify(res.json), markers), name).toEqual([])
        expect(JSON.stringify(res.json), name).not.toContain('native code')
      }
    })
  })
})
