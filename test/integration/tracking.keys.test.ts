import { hkdfSync, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { messageUrls } from '../../delivery/composeMessage.js'
import { signToken, type TokenPayload } from '../../content/tracking/tokens.js'
import { ENCRYPTION_KEY, useTestNudge } from '../helpers/harness.js'

/**
 * The link-signing key through the running routes: links signed with the current key or a key
 * being rotated out (NUDGE_LINK_SIGNING_KEY_PREVIOUS) work; a link signed with a key derived from
 * the contact-encryption key — what reading DATA_DIR/encryption.key used to give — is a 404, so it
 * cannot redirect anywhere or unsubscribe anyone.
 */
describe('link-signing keys', () => {
  const previous = randomBytes(32)
  const fx = useTestNudge({ env: { NUDGE_LINK_SIGNING_KEY_PREVIOUS: previous.toString('hex') } })
  const base = () => fx.nudge.url
  const current = () => Buffer.from(readFileSync(join(fx.dataDir, 'link-signing.key'), 'utf8').trim(), 'hex')
  const fromEncryptionKey = Buffer.from(hkdfSync('sha256', Buffer.from(ENCRYPTION_KEY, 'hex'), Buffer.alloc(0), 'nudge/tracking-links', 32))
  const click: TokenPayload = { k: 'c', m: 'msg-keys-1', u: 'https://evil.example.net/phish', i: 0 }
  const unsubscribe: TokenPayload = { k: 'u', m: 'msg-keys-1', t: 'marketing', uk: 'someone-else' }
  const get = (path: string) => fetch(`${base()}${path}`, { redirect: 'manual' })

  it('the current key and a previous key verify; a key derived from the encryption key, or the encryption key itself, does not', async () => {
    expect(current().equals(fromEncryptionKey)).toBe(false)
    for (const [name, key, ok] of [
      ['current', current(), true],
      ['previous', previous, true],
      ['derived from the encryption key', fromEncryptionKey, false],
      ['the encryption key', Buffer.from(ENCRYPTION_KEY, 'hex'), false],
    ] as const) {
      const c = await get(`/t/c/${signToken(key, click)}`)
      expect(c.status, name).toBe(ok ? 302 : 404)
      if (ok) expect(c.headers.get('location'), name).toBe(click.u)
      else expect(c.headers.get('location'), name).toBeNull()
      expect((await get(`/u/${signToken(key, unsubscribe)}`)).status, name).toBe(ok ? 200 : 404)
    }
  })

  it('mail is signed with the current key, never a previous one', () => {
    const urls = messageUrls(fx.nudge.journeys.tracking, { messageId: 'msg-keys-2', userKey: 'u-2', topic: 'marketing' })
    const token = urls.unsubscribe.split('/u/')[1]!
    expect(token).toBe(signToken(current(), { k: 'u', m: 'msg-keys-2', t: 'marketing', uk: 'u-2' }))
  })
})
