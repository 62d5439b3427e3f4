/**
 * Everything of one person an erasure removes, found before anything is deleted: every id they
 * were known by, the mail sent to them, the ids of their stored events and their addresses.
 */
export interface ErasedSubject {
  userId: string
  /** The user id and every anonymous / aliased id linked to it. */
  keys: string[]
  /** Ids of the mail sent to them (send ledger, bodies, outcomes, the captured mailbox). */
  messageIds: string[]
  /** Ids of their stored events, traits, identities and consent changes. */
  eventMessageIds: string[]
  /** Every address they had (decrypted), for the captured mailbox. */
  emails: string[]
}

/**
 * A part of Nudge that holds people's data in memory (an index, a cache, a buffer). It registers
 * here to be erased: an erasure calls every hook, and the erasure test asks every hook whether it
 * still knows the person — so a new cache that does not register, or does not forget, is caught.
 */
export interface ErasureHook {
  readonly name: string
  /** Forgets the person. */
  eraseUser(s: ErasedSubject): void | Promise<void>
  /** Whether anything of the person is still held (tests and audits ask). */
  knows(s: ErasedSubject): boolean
}

export class ErasureRegistry {
  private readonly hooks: ErasureHook[] = []
  private readonly pending: { name: string; settle: () => Promise<void> }[] = []

  register(hook: ErasureHook): void {
    if (this.hooks.some((h) => h.name === hook.name)) throw new Error(`An erasure hook named "${hook.name}" is already registered`)
    this.hooks.push(hook)
  }

  /** Writes buffered on their way to the store: they land before the store is erased, or they would outlive it. */
  registerPendingWrites(name: string, settle: () => Promise<void>): void {
    this.pending.push({ name, settle })
  }

  list(): readonly ErasureHook[] {
    return this.hooks
  }

  async settle(): Promise<void> {
    for (const p of this.pending) await p.settle()
  }

  async eraseUser(s: ErasedSubject): Promise<void> {
    for (const h of this.hooks) await h.eraseUser(s)
  }

  /** Names of the hooks that still know the person (empty after a complete erasure). */
  stillKnown(s: ErasedSubject): string[] {
    return this.hooks.filter((h) => h.knows(s)).map((h) => h.name)
  }
}
