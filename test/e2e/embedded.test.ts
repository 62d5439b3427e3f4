import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { embeddedEnv, startEmbedded } from '../helpers/child.js'

/**
 * `npm start` as a user runs it: the embedded process with its own Temporal dev server, chdb and
 * API; Ctrl-C (SIGINT) stops it cleanly, and what it acknowledged is there after a restart.
 */
describe('npm start: embedded Nudge end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-e2e-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('starts everything, serves the Temporal UI, stops cleanly on SIGINT, and keeps what it acknowledged', async () => {
    const env = await embeddedEnv(dir, { WRITE_KEYS: 'e2e:wk_e2e_key', ADMIN_API_KEY: 'admin_e2e_key', LOG_LEVEL: 'info' })
    const first = await startEmbedded(env)
    expect(first.output()).toContain('Nudge is running (embedded)')
    expect((await fetch(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/`)).status).toBe(200)
    const auth = `Basic ${Buffer.from('wk_e2e_key:').toString('base64')}`
    const sent = await fetch(`http://127.0.0.1:${env.PORT}/v1/track`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'e2e-user', event: 'Order Completed', messageId: 'e2e-1' }),
    })
    expect(sent.status).toBe(200)

    first.child.kill('SIGINT')
    expect(await first.exited).toBe(0)
    expect(first.output()).toContain('stopped cleanly')
    // The dev server went with it: its port is free again.
    expect(
      await fetch(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/`).then(
        () => 'open',
        () => 'closed',
      ),
    ).toBe('closed')

    const second = await startEmbedded(env)
    try {
      const user = await fetch(`http://127.0.0.1:${env.PORT}/api/users/e2e-user`, { headers: { authorization: 'Bearer admin_e2e_key' } })
      expect(((await user.json()) as { recentEvents: { messageId: string }[] }).recentEvents.map((e) => e.messageId)).toEqual(['e2e-1'])
    } finally {
      await second.stop()
    }
  }, 240_000)
})
