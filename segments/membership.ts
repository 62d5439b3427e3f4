import type { MembershipStore, Transition } from './membershipStore.js'

/**
 * Who is in which segment, in memory: read on every journey condition and flag rule (no I/O),
 * changed only by recorded transitions (or an erasure).
 */
export class Membership {
  private members = new Map<string, Set<string>>()

  /** The members of a segment (a live set; created empty if the segment has none yet). */
  of(segmentId: string): Set<string> {
    let set = this.members.get(segmentId)
    if (!set) this.members.set(segmentId, (set = new Set()))
    return set
  }

  size(segmentId: string): number {
    return this.members.get(segmentId)?.size ?? 0
  }

  isMember(segmentId: string, userKey: string): boolean {
    return this.members.get(segmentId)?.has(userKey) === true
  }

  segmentsOf(userKey: string): string[] {
    return [...this.members.entries()]
      .filter(([, m]) => m.has(userKey))
      .map(([id]) => id)
      .sort()
  }

  async load(store: MembershipStore): Promise<void> {
    this.members = await store.loadMembers()
  }

  apply(t: Pick<Transition, 'segmentId' | 'userKey' | 'entered'>): void {
    if (t.entered) this.of(t.segmentId).add(t.userKey)
    else this.members.get(t.segmentId)?.delete(t.userKey)
  }

  drop(segmentId: string): void {
    this.members.delete(segmentId)
  }

  /** After an erasure: the person leaves every segment without a trace. */
  forget(userKeys: string[]): void {
    for (const set of this.members.values()) for (const k of userKeys) set.delete(k)
  }

  /**
   * For a process that neither ingests nor evaluates (a scaled-mode worker): membership follows
   * what the evaluating process records, polled every `pollMs`. Returns the timer.
   */
  follow(store: MembershipStore, pollMs: number, log?: (msg: string, extra?: Record<string, unknown>) => void): NodeJS.Timeout {
    let since = Date.now() - 60_000 // overlap: transitions recorded while load() ran
    const tick = async () => {
      // Re-read a few seconds back each time: a transition is recorded a little after its `at`.
      // Replaying them in order is idempotent.
      for (const t of await store.transitionsSince(since - 5_000)) {
        this.apply({ segmentId: t.segment_id, userKey: t.user_key, entered: Number(t.entered) === 1 })
        since = Math.max(since, Number(t.at))
      }
    }
    const timer = setInterval(() => void tick().catch((err) => log?.('segment follow failed', { err: String(err) })), pollMs)
    timer.unref()
    return timer
  }
}
