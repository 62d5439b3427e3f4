import { describe, expect, it } from 'vitest'
import { generateKeyPairSync, sign } from 'node:crypto'
import { createSendGridVerifier } from '../../delivery/webhooks/sendGridSignature.js'
import { snsStringToSign, snsUrl } from '../../delivery/webhooks/snsSignature.js'

describe('SNS certificate and subscription URLs', () => {
  it('only https on sns.<region>.amazonaws.com(.cn), no port, no credentials', () => {
    for (const ok of [
      'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem',
      'https://sns.cn-north-1.amazonaws.com.cn/x.pem',
      'https://SNS.EU-WEST-1.AMAZONAWS.COM/x.pem',
      'https://sns.us-gov-west-1.amazonaws.com/x.pem',
      'https://sns.ap-southeast-2.amazonaws.com/x.pem',
      'https://sns.us-isob-east-1.amazonaws.com/x.pem',
    ])
      expect(snsUrl(ok), ok).toBeDefined()
    for (const bad of [
      'http://sns.us-east-1.amazonaws.com/x.pem',
      'https://sns.evil.com/x.pem',
      'https://sns.us-east-1.amazonaws.com.evil.com/x.pem',
      'https://evil.com/sns.us-east-1.amazonaws.com/x.pem',
      'https://sns.us-east-1.amazonaws.com:444/x.pem',
      'https://user:pw@sns.us-east-1.amazonaws.com/x.pem',
      'https://xsns.us-east-1.amazonaws.com/x.pem',
      'https://sns.us_east.amazonaws.com/x.pem',
      'not a url',
      // S3's legacy endpoints have the sns.<label>.amazonaws.com shape: the bucket named "sns".
      'https://sns.s3.amazonaws.com/x.pem',
      'https://sns.s3-us-west-2.amazonaws.com/x.pem',
      'https://sns.s3-external-1.amazonaws.com/x.pem',
      'https://sns.s3-website-us-east-1.amazonaws.com/x.pem',
      'https://sns.s3-accelerate.amazonaws.com/x.pem',
      'https://sns.execute-api.amazonaws.com/x.pem',
    ])
      expect(snsUrl(bad), bad).toBeUndefined()
  })
})

describe('the string SNS signs', () => {
  const base = {
    MessageId: 'm1',
    TopicArn: 'arn:t',
    Message: 'hello',
    Timestamp: '2026-01-01T00:00:00.000Z',
    SignatureVersion: '2' as const,
    Signature: 's',
    SigningCertURL: 'u',
  }
  it('a notification: Message, MessageId, Subject (only when present), Timestamp, TopicArn, Type', () => {
    expect(snsStringToSign({ ...base, Type: 'Notification', Subject: 'S' })).toBe(
      'Message\nhello\nMessageId\nm1\nSubject\nS\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\narn:t\nType\nNotification\n',
    )
    expect(snsStringToSign({ ...base, Type: 'Notification' })).toBe(
      'Message\nhello\nMessageId\nm1\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\narn:t\nType\nNotification\n',
    )
  })
  it('a subscription confirmation: also SubscribeURL and Token, never Subject', () => {
    expect(snsStringToSign({ ...base, Type: 'SubscriptionConfirmation', SubscribeURL: 'https://x', Token: 'tk', Subject: 'ignored' })).toBe(
      'Message\nhello\nMessageId\nm1\nSubscribeURL\nhttps://x\nTimestamp\n2026-01-01T00:00:00.000Z\nToken\ntk\nTopicArn\narn:t\nType\nSubscriptionConfirmation\n',
    )
  })
})

describe('SendGrid signature check', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const now = 1_800_000_000_000
  const verify = createSendGridVerifier({ publicKey, maxAgeMs: 600_000, now: () => now })
  const body = Buffer.from('[{"event":"delivered"}]')
  const signed = (ts: string, b = body) => ({
    timestamp: ts,
    signature: sign('sha256', Buffer.concat([Buffer.from(ts), b]), privateKey).toString('base64'),
  })
  it('accepts timestamp + raw body signed with the key; refuses another body, an old or future timestamp, garbage', () => {
    const ts = String(now / 1000)
    expect(() => verify(signed(ts), body)).not.toThrow()
    expect(() => verify(signed(ts), Buffer.from('[{"event":"bounce"}]'))).toThrow(/signature/)
    expect(() => verify({ ...signed(ts), timestamp: String(now / 1000 + 1) }, body)).toThrow(/signature/)
    expect(() => verify(signed(String(now / 1000 - 601)), body)).toThrow(/timestamp/)
    expect(() => verify(signed(String(now / 1000 + 3600)), body)).toThrow(/timestamp/)
    expect(() => verify({ timestamp: ts, signature: 'bm90IGEgc2lnbmF0dXJl' }, body)).toThrow(/signature/)
    expect(() => verify({ timestamp: '12ab', signature: signed(ts).signature }, body)).toThrow(/unix seconds/)
    expect(() => verify({}, body)).toThrow(/missing/)
  })
})

describe('SNS certificate validity', () => {
  it('is checked on every message, not only when the certificate is fetched: a cached certificate expires too', async () => {
    const { createSnsVerifier } = await import('../../delivery/webhooks/snsSignature.js')
    const { startFakeSns } = await import('../helpers/signedWebhooks.js')
    const sns = await startFakeSns() // its certificate is valid for 2 days from now
    try {
      let clock = Date.now()
      const verifier = createSnsVerifier({ httpGet: (url) => sns.httpGet(url), maxAgeMs: 3_600_000, now: () => clock })
      const at = () => sns.message({ Type: 'Notification', Message: '{}', Timestamp: new Date(clock).toISOString() })
      await expect(verifier.verify(at())).resolves.toBeDefined()
      clock += 3 * 86_400_000
      await expect(verifier.verify(at())).rejects.toThrow(/not valid now/)
      expect(sns.fetched).toHaveLength(1)
    } finally {
      await sns.close()
    }
  })
})
