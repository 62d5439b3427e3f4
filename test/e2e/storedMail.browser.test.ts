import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { ADMIN_KEY, admin, uid, useTestNudge } from '../helpers/harness.js'
import { launchChromium } from '../helpers/browser.js'
import { waitFor } from '../helpers/journeys.js'
import { seedSentMessage } from '../helpers/sentMessage.js'

/**
 * Stored mail in a real browser (headless Chromium): a message whose HTML carries script — as a
 * template printing an event property `raw` would — runs none of it on Nudge's origin, in "view in
 * browser" or on the /messages page; the page keeps the admin key in its tab only; /docs still works
 * under the page CSP.
 */
const HOSTILE = `<html><head><title>Mail</title></head><body><p id="hello">Hello reader</p>
<script>document.title = 'pwned'; try { localStorage.setItem('stolen', 'yes') } catch (e) {}</script>
<img src="data:," onerror="document.title = 'pwned-onerror'" alt="">
</body></html>`

describe('stored mail in a browser', () => {
  const fx = useTestNudge({ role: 'api', env: { LOG_LEVEL: 'error', FALSE_TRIGGER_CHECK_MS: '0' } })
  let browser: Browser
  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(() => browser?.close())

  it('view in browser shows the mail and runs none of its script', async () => {
    const m = await seedSentMessage(fx.nudge, { html: HOSTILE })
    const page = await browser.newPage()
    try {
      await page.goto(`${fx.nudge.url}/t/v/${m.view}`)
      await expect(page.locator('#hello').textContent()).resolves.toBe('Hello reader')
      expect(await page.title()).toBe('Mail')
      // Nothing reached this origin's storage: the sandboxed document is not even same-origin.
      await page.goto(`${fx.nudge.url}/health`)
      expect(await page.evaluate("localStorage.getItem('stolen')")).toBeNull()
    } finally {
      await page.close()
    }
  })

  it('/messages asks for the key per tab (sessionStorage, never localStorage) and shows mail only in a sandboxed iframe', async () => {
    const { createTransport } = await import('nodemailer')
    const to = `${uid('cap')}@example.test`
    await createTransport({ host: '127.0.0.1', port: fx.nudge.journeys.mailbox.port, secure: false, ignoreTLS: true }).sendMail({
      from: 'shop@example.test',
      to,
      subject: 'hostile',
      html: HOSTILE,
    })
    await waitFor(
      async () => (await admin(`${fx.nudge.url}/api/messages?to=${encodeURIComponent(to)}`)).json.messages[0],
      10_000,
      'captured message',
    )

    const context = await browser.newContext()
    const page = await context.newPage()
    try {
      // A key an older version left in localStorage is forgotten.
      await page.goto(`${fx.nudge.url}/health`)
      await page.evaluate("localStorage.setItem('nudgeAdminKey', 'left-over')")
      let prompts = 0
      page.on('dialog', (d) => {
        prompts++
        void d.accept(ADMIN_KEY)
      })
      await page.goto(`${fx.nudge.url}/messages`)
      const row = page.locator('tr', { hasText: to })
      await row.waitFor({ timeout: 10_000 })
      expect(prompts).toBe(1)
      expect(await page.evaluate("localStorage.getItem('nudgeAdminKey')")).toBeNull()
      expect(await page.evaluate("sessionStorage.getItem('nudgeAdminKey')")).toBe(ADMIN_KEY)
      // A reload in the same tab does not ask again.
      await page.reload()
      await page.locator('tr', { hasText: to }).waitFor({ timeout: 10_000 })
      expect(prompts).toBe(1)

      await page.locator('tr', { hasText: to }).click()
      const frame = page.frameLocator('#f')
      await expect(frame.locator('pre').textContent({ timeout: 10_000 })).resolves.toContain('Subject: hostile')
      expect(await page.locator('#f').getAttribute('sandbox')).toBe('')
      expect(await page.title()).toBe('Nudge — captured mail')
      expect(await page.evaluate("localStorage.getItem('stolen')")).toBeNull()

      // A new tab (a new session) asks again: the key did not outlive the tab.
      const other = await context.newPage()
      let asked = 0
      other.on('dialog', (d) => {
        asked++
        void d.dismiss()
      })
      await other.goto(`${fx.nudge.url}/messages`)
      await waitFor(async () => asked > 0 || undefined, 10_000, 'the key prompt in a new tab')
      await other.close()
    } finally {
      await context.close()
    }
  })

  it('/docs renders under the page CSP (its script is a file, not inline)', async () => {
    const page = await browser.newPage()
    const violations: string[] = []
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text())
    })
    try {
      await page.goto(`${fx.nudge.url}/docs`)
      await page.locator('.swagger-ui .info').waitFor({ timeout: 20_000 })
      expect(violations.filter((v) => /script/i.test(v))).toEqual([])
    } finally {
      await page.close()
    }
  })
})
