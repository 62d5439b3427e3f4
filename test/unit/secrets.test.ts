import { hkdfSync, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { signToken, verifyToken } from '../../content/tracking/tokens.js'
import { loadConfig } from '../../runtime/config.js'
import { LEGACY_LINK_KEY, loadSecrets } from '../../runtime/secrets.js'

/** The link-signing key and the contact-encryption key are independent secrets. */
describe('secrets', () => {
  const dirs: string[] = []
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'nudge-secrets-'))
    dirs.push(d)
    return d
  }
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
  const warnings: string[] = []
  const warn = (m: string) => void warnings.push(m)
  const hex = () => randomBytes(32).toString('hex')
  const token = { k: 'u', m: 'msg-1', t: 'marketing', uk: 'user-1' } as const
  /** Every way the old code made a link key from the encryption key, and the obvious variants. */
  const derivations = (enc: Buffer) =>
    ['nudge/tracking-links', 'nudge/link-signing', 'nudge/contact-lookup', 'nudge/erasure-log', '']
      .map((info): Buffer => Buffer.from(hkdfSync('sha256', enc, Buffer.alloc(0), info, 32)))
      .concat([enc])

  it('embedded without settings: two different keys, each generated once into its own file (mode 600), read back on restart', () => {
    const dataDir = tempDir()
    const first = loadSecrets({ dataDir, embedded: true }, warn)
    const encFile = join(dataDir, 'encryption.key')
    const linkFile = join(dataDir, 'link-signing.key')
    expect(readFileSync(encFile, 'utf8')).toBe(first.encryptionKey.toString('hex'))
    expect(readFileSync(linkFile, 'utf8')).toBe(first.linkSigningKey.toString('hex'))
    expect(statSync(encFile).mode & 0o777).toBe(0o600)
    expect(statSync(linkFile).mode & 0o777).toBe(0o600)
    expect(first.linkSigningKey.equals(first.encryptionKey)).toBe(false)
    const again = loadSecrets({ dataDir, embedded: true }, warn)
    expect(again.linkSigningKey.equals(first.linkSigningKey)).toBe(true)
    expect(again.encryptionKey.equals(first.encryptionKey)).toBe(true)
  })

  it('the link-signing key is not derivable from the encryption key (nor the reverse): the same encryption key with a new link key gives a new link key, and vice versa', () => {
    const enc = hex()
    const a = loadSecrets({ encryptionKey: enc, dataDir: tempDir(), embedded: true }, warn)
    const b = loadSecrets({ encryptionKey: enc, dataDir: tempDir(), embedded: true }, warn)
    expect(a.encryptionKey.equals(b.encryptionKey)).toBe(true)
    expect(a.linkSigningKey.equals(b.linkSigningKey)).toBe(false) // the encryption key alone does not determine it
    for (const k of derivations(a.encryptionKey)) expect(k.equals(a.linkSigningKey)).toBe(false)
    const link = hex()
    const c = loadSecrets({ linkSigningKey: link, dataDir: tempDir(), embedded: true }, warn)
    const d = loadSecrets({ linkSigningKey: link, dataDir: tempDir(), embedded: true }, warn)
    expect(c.encryptionKey.equals(d.encryptionKey)).toBe(false) // nor the link key the encryption key
    for (const k of [c.lookupKey, c.erasureSalt]) expect(k.equals(c.linkSigningKey)).toBe(false)
  })

  it('a link signed with the key the old code derived from the encryption key no longer verifies; one signed with the link key does', () => {
    const s = loadSecrets({ encryptionKey: hex(), linkSigningKey: hex(), dataDir: tempDir(), embedded: false }, warn)
    const verifyKeys = [s.linkSigningKey, ...s.previousLinkSigningKeys]
    for (const forged of derivations(s.encryptionKey)) expect(verifyToken(verifyKeys, signToken(forged, token))).toBeUndefined()
    expect(verifyToken(verifyKeys, signToken(s.linkSigningKey, token))).toEqual(token)
  })

  it('rotation: links signed with a previous key still verify, nothing new is signed with it, unknown keys never verify', () => {
    const old1 = hex()
    const old2 = randomBytes(32).toString('base64')
    const s = loadSecrets(
      { encryptionKey: hex(), linkSigningKey: hex(), previousLinkSigningKeys: `${old1}, ${old2}`, dataDir: tempDir(), embedded: false },
      warn,
    )
    const verifyKeys = [s.linkSigningKey, ...s.previousLinkSigningKeys]
    expect(verifyToken(verifyKeys, signToken(Buffer.from(old1, 'hex'), token))).toEqual(token)
    expect(verifyToken(verifyKeys, signToken(Buffer.from(old2, 'base64'), token))).toEqual(token)
    expect(verifyToken(verifyKeys, signToken(randomBytes(32), token))).toBeUndefined()
    // Once the previous key is dropped, its links stop verifying.
    expect(verifyToken([s.linkSigningKey], signToken(Buffer.from(old1, 'hex'), token))).toBeUndefined()
  })

  it(`${LEGACY_LINK_KEY} in the previous keys accepts links of Nudge before the split (opt-in, with a warning), and only those`, () => {
    const enc = hex()
    const before = Buffer.from(hkdfSync('sha256', Buffer.from(enc, 'hex'), Buffer.alloc(0), 'nudge/tracking-links', 32))
    warnings.length = 0
    const s = loadSecrets(
      { encryptionKey: enc, linkSigningKey: hex(), previousLinkSigningKeys: LEGACY_LINK_KEY, dataDir: tempDir(), embedded: false },
      warn,
    )
    expect(verifyToken([s.linkSigningKey, ...s.previousLinkSigningKeys], signToken(before, token))).toEqual(token)
    expect(warnings.join('\n')).toMatch(/can forge/)
  })

  it('refuses what would undo the split or cannot be shared: the same key twice, a missing key with an external store, a malformed key', () => {
    const k = hex()
    expect(() => loadSecrets({ encryptionKey: k, linkSigningKey: k, dataDir: tempDir(), embedded: true }, warn)).toThrow(/must differ/)
    expect(() => loadSecrets({ encryptionKey: hex(), dataDir: tempDir(), embedded: false }, warn)).toThrow(
      /NUDGE_LINK_SIGNING_KEY is required/,
    )
    expect(() => loadSecrets({ encryptionKey: hex(), linkSigningKey: 'short', dataDir: tempDir(), embedded: false }, warn)).toThrow(
      /NUDGE_LINK_SIGNING_KEY: must be 32 bytes/,
    )
    expect(() =>
      loadSecrets({ encryptionKey: hex(), linkSigningKey: k, previousLinkSigningKeys: k, dataDir: tempDir(), embedded: false }, warn),
    ).toThrow(/must not repeat/)
    expect(() =>
      loadSecrets(
        { encryptionKey: hex(), linkSigningKey: k, previousLinkSigningKeys: `${hex()},nope`, dataDir: tempDir(), embedded: false },
        warn,
      ),
    ).toThrow(/NUDGE_LINK_SIGNING_KEY_PREVIOUS: entry 2/)
    // At start, with every other bad variable.
    expect(() => loadConfig({ NUDGE_LINK_SIGNING_KEY: 'xyz', NUDGE_LINK_SIGNING_KEY_PREVIOUS: `${hex()},bad` })).toThrow(
      /NUDGE_LINK_SIGNING_KEY: must be 32 bytes[\s\S]*NUDGE_LINK_SIGNING_KEY_PREVIOUS: entry 2/,
    )
  })
})
