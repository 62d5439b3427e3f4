import type { UserRepository } from '../identity/users.js'
import type { ErasedSubject, ErasureRegistry } from './erasureRegistry.js'
import type { Tombstones } from './tombstones.js'

export interface EraserDeps {
  users: Pick<UserRepository, 'subjectOf' | 'eraseStored' | 'logErasure'>
  tombstones: Tombstones
  registry: ErasureRegistry
  /** Whatever of the person is still queued (ingest, segment evaluation) lands first, or it would survive the erasure. */
  settleIngest?: () => Promise<void>
  /** Ends the person's journey runs (and removes their history where the engine allows). */
  endRuns?: (keys: string[]) => Promise<void>
  now?: () => number
}

/**
 * `DELETE /api/users/:id`, in the order that makes it final:
 * 1. what was accepted before the request lands (ingest, segments);
 * 2. the tombstone is written — from here on a late pixel, click, unsubscribe, bounce, retried
 *    event or a send of a run triggered before now is dropped and counted;
 * 3. their runs end; buffered writes (outcomes, bodies, exposures, mailbox) land, and ingest
 *    settles again (what passed the tombstone check just before it was written lands now);
 * 4. every table of ERASED_TABLES loses them, then every registered in-memory hook forgets them;
 * 5. the erasure log records it under a keyed hash.
 */
export class Eraser {
  constructor(private readonly d: EraserDeps) {}

  async erase(userId: string, requestedBy: string): Promise<{ rowsDeleted: number; subject: ErasedSubject }> {
    const now = this.d.now ?? Date.now
    await this.d.settleIngest?.()
    const at = now()
    let subject = await this.d.users.subjectOf(userId)
    await this.d.tombstones.record({ users: subject.keys, messages: subject.messageIds }, at)
    await this.d.endRuns?.(subject.keys)
    await this.d.registry.settle()
    // Ingest again: an event checked against the tombstones just before step 2 (and segment work it
    // set off) may still be on its way to the store; landing after the deletes, it would survive them.
    await this.d.settleIngest?.()
    // A send that was in flight when the subject was read has landed now: read it again.
    const again = await this.d.users.subjectOf(userId)
    const newMail = again.messageIds.filter((id) => !subject.messageIds.includes(id))
    if (newMail.length) await this.d.tombstones.record({ users: [], messages: newMail }, at)
    subject = merge(subject, again)
    const rowsDeleted = await this.d.users.eraseStored(subject)
    await this.d.registry.eraseUser(subject)
    await this.d.users.logErasure(userId, rowsDeleted, requestedBy, now())
    return { rowsDeleted, subject }
  }
}

function merge(a: ErasedSubject, b: ErasedSubject): ErasedSubject {
  const u = (x: string[], y: string[]) => [...new Set([...x, ...y])]
  return {
    userId: a.userId,
    keys: u(a.keys, b.keys),
    messageIds: u(a.messageIds, b.messageIds),
    eventMessageIds: u(a.eventMessageIds, b.eventMessageIds),
    emails: u(a.emails, b.emails),
  }
}
