import type { ClickHouseClient } from '@clickhouse/client'
import { SMTPServer } from 'smtp-server'
import { z } from 'zod'
import { selectRows } from '../clickhouse/store.js'
import { GroupInsert } from '../clickhouse/groupInsert.js'

/** A captured message as listed (GET /api/messages documents this schema). */
export const capturedMessage = z
  .object({
    messageId: z.string(),
    receivedAt: z.string(),
    from: z.string(),
    to: z.array(z.string()),
    subject: z.string(),
    deliveries: z.number().describe('How many times the transport handed this Message-ID over (retries collapse into one message)'),
  })
  .meta({ id: 'CapturedMessage' })
export type CapturedMessage = z.infer<typeof capturedMessage>

type MailboxRow = { message_id: string; received_at: number; mail_from: string; rcpt_to: string[]; subject: string; raw: string }

/**
 * The embedded mail catcher: a real SMTP server on loopback that keeps every raw MIME message in
 * the store. A message is accepted (250) only once it is stored. Like an ESP with idempotency
 * keys, the listing collapses deliveries that carry the same Message-ID, and counts them.
 */
export class CaptureMailbox {
  private server: SMTPServer | undefined
  private readonly rows: GroupInsert<MailboxRow>
  port = 0

  constructor(
    private readonly client: ClickHouseClient,
    private readonly log?: (msg: string, extra?: Record<string, unknown>) => void,
  ) {
    this.rows = new GroupInsert(client, 'mailbox')
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      size: 10 * 1024 * 1024,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = []
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('error', (err) => callback(err))
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8')
          const headers = headerBlock(raw)
          const row: MailboxRow = {
            // Nudge's own id when it sent the message; any other client's Message-ID otherwise.
            message_id: header(headers, 'x-nudge-message-id') ?? (header(headers, 'message-id') ?? '').replace(/^<|>$/g, ''),
            received_at: Date.now(),
            mail_from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcpt_to: session.envelope.rcptTo.map((r) => r.address),
            subject: decodeSubject(header(headers, 'subject') ?? ''),
            raw,
          }
          this.rows.add(row).then(
            () => callback(),
            (err: unknown) => {
              this.log?.('capture mailbox could not store a message', { err: String(err) })
              callback(Object.assign(new Error('451 could not store the message, try again'), { responseCode: 451 }))
            },
          )
        })
      },
    })
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject)
      this.server!.listen(port, host, () => resolve())
    })
    this.server.on('error', (err) => this.log?.('capture mailbox error', { err: String(err) }))
    const address = this.server.server.address()
    this.port = typeof address === 'object' && address ? address.port : port
    return `smtp://${host}:${this.port}`
  }

  /** Captured messages still being stored (an erasure waits for them). */
  settled(): Promise<void> {
    return this.rows.settled()
  }

  async stop(): Promise<void> {
    await this.rows.settled()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }

  async list(opts: { to?: string; limit?: number; before?: string } = {}): Promise<CapturedMessage[]> {
    const rows = await selectRows<{
      message_id: string
      received_at: string
      mail_from: string
      rcpt: string[]
      subject: string
      deliveries: string
    }>(
      this.client,
      `SELECT message_id, min(received_at) AS received_at, any(mail_from) AS mail_from, any(rcpt_to) AS rcpt, any(subject) AS subject, count() AS deliveries
       FROM mailbox
       WHERE ({to:String} = '' OR has(rcpt_to, {to:String}))
       GROUP BY message_id
       ${opts.before ? 'HAVING received_at < fromUnixTimestamp64Milli({before:Int64})' : ''}
       ORDER BY received_at DESC, message_id LIMIT {limit:UInt32}`,
      // A number, not text for the engine to parse: what the route validated is what is compared.
      { to: opts.to ?? '', before: opts.before ? Date.parse(opts.before) : 0, limit: opts.limit ?? 100 },
    )
    return rows.map((r) => ({
      messageId: r.message_id,
      receivedAt: r.received_at,
      from: r.mail_from,
      to: r.rcpt,
      subject: r.subject,
      deliveries: Number(r.deliveries),
    }))
  }

  async raw(messageId: string): Promise<string | undefined> {
    const [row] = await selectRows<{ raw: string }>(
      this.client,
      'SELECT raw FROM mailbox WHERE message_id = {id:String} ORDER BY received_at LIMIT 1',
      { id: messageId },
    )
    return row?.raw
  }
}

function headerBlock(raw: string): string {
  const end = raw.search(/\r?\n\r?\n/)
  return (end < 0 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ')
}

function header(block: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(block)
  return m?.[1]?.trim()
}

/** RFC 2047 encoded words (=?UTF-8?B?…?= / Q), as nodemailer writes non-ASCII subjects. */
export function decodeSubject(s: string): string {
  return s
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=\s*/g, (_m, _charset: string, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          ).toString('utf8'),
    )
    .trim()
}
