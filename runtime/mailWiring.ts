import type { Store } from '../clickhouse/store.js'
import { CaptureMailbox } from '../delivery/captureMailbox.js'
import { MailTransport } from '../delivery/transport.js'
import type { JourneyDepsIn } from './journeyDeps.js'

/**
 * The capture mailbox and the mail transport. The mailbox always runs: it is the embedded
 * default and where test accounts' mail goes.
 */
export async function startMail(d: JourneyDepsIn): Promise<{ mailStore: Store; mailbox: CaptureMailbox; transport: MailTransport }> {
  // The mailbox stands for a remote SMTP service: its writes get a connection of their own, so
  // they never queue behind (or hold up) the pre-send checks.
  const mailStore = d.role === 'api' ? d.store : await d.openConnection()
  const mailbox = new CaptureMailbox(mailStore.client, d.log)
  d.erasure.registerPendingWrites('capture mailbox', () => mailbox.settled())
  const captureUrl = await mailbox.start(d.config.MAILBOX_SMTP_PORT)
  const transport = new MailTransport({ smtpUrl: d.config.SMTP_URL, captureUrl, from: d.config.MAIL_FROM })
  return { mailStore, mailbox, transport }
}
