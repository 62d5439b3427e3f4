import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

/** The machine's Chromium (Debian's package; `npm test` installs it when missing), headless. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: install the chromium package (npm test does, as root) or set CHROMIUM_PATH`)
  // Background networking off: this machine's network is closed, and Chromium would keep trying.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
