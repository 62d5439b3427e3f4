import nodemailer from 'nodemailer'
import type { Transporter } from 'nodemailer'

export interface OutgoingMessage {
  messageId: string
  to: string
  subject: string
  html: string
  text: string
  /** A test account's message: only ever to the capture mailbox. */
  test: boolean
  headers?: Record<string, string>
}

/**
 * Mail through nodemailer: to `SMTP_URL` when set, else to the embedded capture mailbox (where test
 * accounts' mail always goes). The workflow's message id is the Message-ID and the idempotency
 * key, so a send retried after a crash is recognised downstream as the same message.
 */
export class MailTransport {
  private readonly primary: Transporter
  private readonly capture: Transporter

  constructor(opts: { smtpUrl?: string; captureUrl: string; from: string; domain?: string }) {
    // Bounded waits (nodemailer's socket default is 10 minutes): a mail server that stops answering
    // fails the attempt, which the send's bounded retry policy tries again, instead of holding the
    // send — and an erasure or a shutdown waiting on it — for minutes.
    const pool = {
      pool: true,
      maxConnections: 16,
      maxMessages: Infinity,
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 60_000,
    }
    this.capture = nodemailer.createTransport({ url: opts.captureUrl, ...pool, ignoreTLS: true } as never, { from: opts.from })
    this.primary = opts.smtpUrl ? nodemailer.createTransport({ url: opts.smtpUrl, ...pool } as never, { from: opts.from }) : this.capture
    this.domain = opts.domain ?? 'nudge.local'
  }

  private readonly domain: string

  async send(m: OutgoingMessage): Promise<void> {
    const via = m.test ? this.capture : this.primary
    await via.sendMail({
      to: m.to,
      subject: m.subject,
      html: m.html,
      text: m.text,
      messageId: `<${m.messageId}@${this.domain}>`,
      headers: {
        'X-Nudge-Message-Id': m.messageId,
        'Idempotency-Key': m.messageId,
        ...(m.test ? { 'X-Nudge-Test': '1' } : {}),
        ...m.headers,
      },
    })
  }

  close(): void {
    this.primary.close()
    if (this.capture !== this.primary) this.capture.close()
  }
}
