/**
 * Which links of a message were clicked in the last second: a security scanner walks every link
 * of a mail at once, a person clicks one. Bounded; keyed by message id (which names the run and
 * so the user), so an erasure clears it too.
 */
export class ClickBursts {
  private readonly recent = new Map<string, { at: number; link: number }[]>()

  constructor(
    private readonly windowMs = 1000,
    private readonly max = 10_000,
  ) {}

  /** Records a click; returns how many different links of the message were clicked within the window. */
  click(messageId: string, link: number, at: number): number {
    const seen = (this.recent.get(messageId) ?? []).filter((c) => at - c.at <= this.windowMs)
    seen.push({ at, link })
    this.recent.delete(messageId)
    this.recent.set(messageId, seen)
    if (this.recent.size > this.max) this.recent.delete(this.recent.keys().next().value!)
    return new Set(seen.map((s) => s.link)).size
  }

  forget(messageIds: readonly string[]): void {
    for (const id of messageIds) this.recent.delete(id)
  }

  knows(messageIds: readonly string[]): boolean {
    return messageIds.some((id) => this.recent.has(id))
  }
}
