/**
 * Data minimisation at ingest: configured keys (card numbers, passwords…) are dropped wherever
 * they appear, and contact details are lifted out so they never reach an event row.
 */
/** The matcher for "drop nothing": lets callers skip walking every object. */
export const NO_DROP = (_key: string) => false

export const CONTACT_KEYS = ['email', 'phone'] as const

export function makeKeyMatcher(keys: readonly string[]): (key: string) => boolean {
  if (keys.length === 0) return NO_DROP
  const set = new Set(keys.map((k) => k.toLowerCase()))
  return (key) => set.has(key.toLowerCase())
}

/** Removes matching keys at any depth, in place. Returns the same object for chaining. */
export function dropKeysDeep<T>(value: T, drop: (key: string) => boolean): T {
  if (Array.isArray(value)) {
    for (const item of value) dropKeysDeep(item, drop)
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>
    for (const key of Object.keys(record)) {
      if (drop(key)) delete record[key]
      else dropKeysDeep(record[key], drop)
    }
  }
  return value
}

/** Takes `email` / `phone` out of a record (top level) and returns them. */
export function liftContacts(record: Record<string, unknown> | undefined): { email?: string; phone?: string } {
  const out: { email?: string; phone?: string } = {}
  if (!record) return out
  for (const key of CONTACT_KEYS) {
    const v = record[key]
    if (v === undefined) continue
    delete record[key]
    if (typeof v === 'string' && v.trim()) out[key] = v.trim()
  }
  return out
}
