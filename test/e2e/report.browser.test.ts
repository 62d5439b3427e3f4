import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { admin, useTestNudge } from '../helpers/harness.js'
import { launchChromium } from '../helpers/browser.js'
import { runRow, sentRow, trackRow } from '../helpers/rows.js'

/**
 * The demo's report in a real browser (headless Chromium): the page loads from a file as the
 * demo writes it, and its charts render — lift with intervals per variant, the latency
 * distribution, the journey funnel — with real sizes on screen.
 */
const DAY = 86_400_000
describe('the HTML report in a browser', () => {
  const fx = useTestNudge({ role: 'api', env: { LOG_LEVEL: 'error', FALSE_TRIGGER_CHECK_MS: '0' } })
  const dir = mkdtempSync(join(tmpdir(), 'nudge-report-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('renders every chart', async () => {
    const base = fx.nudge.url!
    const key = `rep-${Date.now().toString(36)}`
    await admin(`${base}/api/experiments`, 'POST', {
      key,
      name: 'report',
      variants: [
        { key: 'control', weight: 0.5 },
        { key: 'fast', weight: 0.5 },
      ],
      primaryMetric: { event: `Buy ${key}`, kind: 'conversion' },
    })
    await admin(`${base}/api/experiments/${key}/start`, 'POST')
    const now = Date.now()
    const c = fx.nudge.store.client
    const units = Array.from({ length: 400 }, (_, i) => ({
      unit: `${key}-${i}`,
      variant: i % 2 ? 'fast' : 'control',
      at: now - DAY + i * 1000,
    }))
    await c.insert({
      table: 'experiment_exposures',
      format: 'JSONEachRow',
      values: units.map((u) => ({ experiment_key: key, unit: u.unit, variant: u.variant, first_at: u.at, context: '{}', rank: 1 })),
    })
    await c.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: units
        .filter((u, i) => i % (u.variant === 'fast' ? 3 : 5) === 0)
        .map((u) => trackRow({ message_id: `b-${u.unit}`, user: u.unit, event: `Buy ${key}`, at: u.at + 60_000 })),
    })
    await c.insert({
      table: 'journey_runs',
      format: 'JSONEachRow',
      values: units.slice(0, 50).map((u, i) =>
        runRow({
          workflow_id: `w-${u.unit}`,
          journey_id: 'cart-abandonment',
          user_key: u.unit,
          trigger_message_id: `t${i}`,
          trigger_at: u.at,
          received_at: u.at + 20,
          at: u.at + 60 + i,
        }),
      ),
    })
    await c.insert({
      table: 'send_ledger',
      format: 'JSONEachRow',
      values: units.slice(0, 40).map((u) =>
        sentRow({
          message_id: `m-${u.unit}`,
          workflow_id: `w-${u.unit}`,
          journey_id: 'cart-abandonment',
          step_id: 'reminder',
          user_key: u.unit,
          at: u.at + 900_000,
          scheduled_at: u.at + 899_000,
        }),
      ),
    })

    const res = await fetch(`${base}/api/reports/html`, { headers: { authorization: 'Bearer admin_test_key_123' } })
    expect(res.status).toBe(200)
    const file = join(dir, 'report.html')
    writeFileSync(file, await res.text())

    const browser = await launchChromium()
    try {
      const page = await browser.newPage()
      await page.goto(`file://${file}`)
      expect(await page.title()).toContain('Nudge')
      const lift = page.locator(`#lift-${key}`)
      await expect.poll(() => lift.locator('circle.effect').count()).toBe(1)
      const box = await lift.boundingBox()
      expect(box!.width).toBeGreaterThan(300)
      const ci = await lift.locator('line.ci').boundingBox()
      expect(ci!.width).toBeGreaterThan(2) // an interval with a width, drawn
      expect(await page.locator('#latency rect.bar').count()).toBe(3) // p50, p90, p99 of the one journey
      expect(await page.locator('#funnel rect.bar').count()).toBe(5) // entered → converted
      const entered = await page.locator('#funnel rect.bar').first().boundingBox()
      expect(entered!.width).toBeGreaterThan(100)
      expect(await page.locator('#false-triggers tr').count()).toBeGreaterThan(1)
    } finally {
      await browser.close()
    }
  })
})
