import type { FieldIssue } from './errors.js'
import { LONE_SURROGATE } from './textBounds.js'

/**
 * What every JSON value from outside must satisfy before anything else looks at it.
 *
 * - Depth: V8's JSON.parse is iterative, but JSON.stringify, zod, the Liquid context and the
 *   store's JSON functions recurse, so a 5,000-deep value that parses fine blows the stack (or is
 *   refused by the store on every retry) later. Refused here, once, with the path where it got
 *   too deep.
 * - Lone surrogates ("\ud800"): legal in JSON text, not in UTF-8, so the store can never take
 *   them; accepted, such an event is a 503 retried forever. Refused here, naming the field.
 *
 * The walk is iterative (an explicit stack), so checking cannot itself overflow.
 */
export const DEFAULT_MAX_DEPTH = 64
const MAX_ISSUES = 20

export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s)
}

interface Frame {
  value: unknown
  depth: number
  parent: Frame | undefined
  key: string | number | undefined
}

/** Issues with `value` (empty when it is fine); paths are prefixed with `prefix` (e.g. `data`). */
export function jsonLimitIssues(value: unknown, opts: { maxDepth?: number; prefix?: string } = {}): FieldIssue[] {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH
  const issues: FieldIssue[] = []
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: undefined }]
  while (stack.length && issues.length < MAX_ISSUES) {
    const frame = stack.pop()!
    const v = frame.value
    if (typeof v === 'string') {
      if (hasLoneSurrogate(v))
        issues.push({
          path: pathOf(frame, opts.prefix),
          rule: 'unicode',
          message: 'must not contain an unpaired surrogate (not valid Unicode)',
        })
      continue
    }
    if (v === null || typeof v !== 'object') continue
    const depth = frame.depth + 1
    if (depth > maxDepth) {
      issues.push({ path: pathOf(frame, opts.prefix), rule: 'max_depth', message: `must nest at most ${maxDepth} levels` })
      continue
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth, parent: frame, key: i })
      continue
    }
    const keys = Object.keys(v)
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!
      const child: Frame = { value: (v as Record<string, unknown>)[key], depth, parent: frame, key }
      if (hasLoneSurrogate(key))
        issues.push({
          path: pathOf(child, opts.prefix),
          rule: 'unicode',
          message: 'key must not contain an unpaired surrogate (not valid Unicode)',
        })
      else stack.push(child)
    }
  }
  return issues
}

/** `properties.items[3].name`; keys shown JSON-escaped (a lone surrogate reads as \ud800) and cut at 64. */
function pathOf(frame: Frame, prefix: string | undefined): string {
  const parts: (string | number)[] = []
  for (let f: Frame | undefined = frame; f && f.key !== undefined; f = f.parent) parts.push(f.key)
  let out = prefix ?? ''
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i]!
    if (typeof p === 'number') out += `[${p}]`
    else {
      const shown = JSON.stringify(p.length > 64 ? `${p.slice(0, 64)}…` : p).slice(1, -1)
      out += out ? `.${shown}` : shown
    }
  }
  return out || '(body)'
}
