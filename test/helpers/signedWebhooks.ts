import { execFileSync } from 'node:child_process'
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type SignedSnsMessage, snsStringToSign } from '../../delivery/webhooks/snsSignature.js'

/**
 * A stand-in for Amazon SNS and SendGrid: a real RSA key with a self-signed certificate (openssl),
 * served from a real HTTP server on loopback, and messages signed exactly as SNS signs them; an
 * EC P-256 key signing `timestamp + body` as SendGrid does. `httpGet` is what Nudge is given: it
 * maps the (already host-checked) SNS URL to the loopback server, path unchanged.
 */
export interface FakeSns {
  certUrl: string
  httpGet: (url: string) => Promise<string>
  /** URLs Nudge fetched (certificates and subscription confirmations), in order. */
  fetched: string[]
  message(fields: Partial<SignedSnsMessage> & Pick<SignedSnsMessage, 'Type' | 'Message'>, version?: '1' | '2'): SignedSnsMessage
  resign(m: SignedSnsMessage): SignedSnsMessage
  close(): Promise<void>
}

export async function startFakeSns(region = 'us-east-1'): Promise<FakeSns> {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-sns-'))
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=sns.amazonaws.com',
    ],
    { stdio: 'ignore' },
  )
  const key = readFileSync(join(dir, 'key.pem'), 'utf8')
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8')
  rmSync(dir, { recursive: true, force: true })
  const certPath = `/SimpleNotificationService-${randomUUID().replaceAll('-', '')}.pem`
  const fetched: string[] = []
  const server: Server = createServer((req, res) => {
    if (req.url === certPath) res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(cert)
    else if (req.url?.startsWith('/?Action=ConfirmSubscription'))
      res.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>')
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const certUrl = `https://sns.${region}.amazonaws.com${certPath}`
  const withSignature = (m: SignedSnsMessage): SignedSnsMessage => ({
    ...m,
    Signature: sign(m.SignatureVersion === '1' ? 'sha1' : 'sha256', Buffer.from(snsStringToSign(m), 'utf8'), key).toString('base64'),
  })
  return {
    certUrl,
    fetched,
    async httpGet(url) {
      fetched.push(url)
      const u = new URL(url)
      const res = await fetch(`http://127.0.0.1:${port}${u.pathname}${u.search}`)
      if (!res.ok) throw new Error(`GET ${url}: ${res.status}`)
      return res.text()
    },
    message(fields, version = '2') {
      return withSignature({
        MessageId: randomUUID(),
        TopicArn: `arn:aws:sns:${region}:123456789012:ses-events`,
        Timestamp: new Date().toISOString(),
        SignatureVersion: version,
        Signature: '',
        SigningCertURL: certUrl,
        ...(fields.Type !== 'Notification'
          ? {
              Token: 'tok-' + randomUUID(),
              SubscribeURL: `https://sns.${region}.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=t`,
            }
          : {}),
        ...fields,
      })
    },
    resign: withSignature,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

export interface FakeSendGrid {
  /** The verification key as SendGrid shows it: base64 of the DER public key. */
  publicKey: string
  /** Headers for `body` signed at `at` (unix seconds; default now). */
  headers(body: string, at?: number): Record<string, string>
}

export function fakeSendGrid(): FakeSendGrid {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    headers(body, at = Math.floor(Date.now() / 1000)) {
      const timestamp = String(at)
      return {
        'x-twilio-email-event-webhook-timestamp': timestamp,
        'x-twilio-email-event-webhook-signature': sign(
          'sha256',
          Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]),
          privateKey,
        ).toString('base64'),
      }
    },
  }
}
