import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

export interface EspSink {
  url: string
  /** Every message the sink acknowledged (250), retries included: one entry per recipient. */
  deliveries: { messageId: string; to: string }[]
  /** Messages received while hanging, never answered. */
  held: { messageId: string; to: string }[]
  close(): Promise<void>
}

/**
 * A real SMTP server on loopback standing in for the ESP. It acknowledges each message after
 * `delayMs` (a slow ESP keeps sends in flight), or — while `hang()` says so — never (a stuck ESP).
 */
export async function startEspSink(opts: { delayMs?: number; hang?: () => boolean } = {}): Promise<EspSink> {
  const deliveries: EspSink['deliveries'] = []
  const held: EspSink['held'] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        const messageId = /^x-nudge-message-id:\s*(.+)$/im.exec(raw)?.[1]?.trim() ?? ''
        if (opts.hang?.()) {
          for (const r of session.envelope.rcptTo) held.push({ messageId, to: r.address })
          return // no answer, ever
        }
        setTimeout(() => {
          for (const r of session.envelope.rcptTo) deliveries.push({ messageId, to: r.address })
          callback()
        }, opts.delayMs ?? 0)
      })
    },
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    deliveries,
    held,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
