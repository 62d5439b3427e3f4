/**
 * Local-time windows ("09:00–18:00 in the user's timezone"), pure. Quiet hours are the same
 * thing inverted: the allowed window is [quiet end, quiet start).
 */
const formats = new Map<string, Intl.DateTimeFormat>()

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
    formats.set(timeZone, f)
  }
  return f
}

export function isTimeZone(tz: unknown): tz is string {
  if (typeof tz !== 'string' || !tz) return false
  try {
    formatFor(tz)
    return true
  } catch {
    return false
  }
}

/** Seconds since local midnight at `now` in `timeZone`. */
export function localSecondOfDay(now: number, timeZone: string): number {
  const parts = formatFor(timeZone).formatToParts(new Date(now))
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0)
  return get('hour') * 3600 + get('minute') * 60 + get('second')
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))

/** Milliseconds from `now` until local time is inside [from, to) (0 when it already is). A window may wrap midnight. */
export function msUntilInside(now: number, timeZone: string, from: string, to: string): number {
  const f = minutes(from) * 60
  const t = minutes(to) * 60
  if (f === t) return 0 // the whole day
  const s = localSecondOfDay(now, timeZone)
  const inside = f < t ? s >= f && s < t : s >= f || s < t
  if (inside) return 0
  const wait = (f - s + 86_400) % 86_400
  return wait * 1000 - (now % 1000)
}

/** "21:00-08:00" → the quiet window, or undefined for none. */
export function parseWindow(text: string): { from: string; to: string } | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)$/.exec(text.trim())
  return m ? { from: `${m[1]}:${m[2]}`, to: `${m[3]}:${m[4]}` } : undefined
}
