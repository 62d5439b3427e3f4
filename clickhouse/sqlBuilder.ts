/** A time as a DateTime64(3, 'UTC') query parameter value. */
export function dateTimeParam(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

/**
 * Bound parameters for generated SQL: every value goes in as `{pN:Type}`, never into the text.
 */
export class Params {
  readonly values: Record<string, unknown> = {}
  private next = 0
  private readonly seen = new Map<string, string>()

  /** The same value and type bind to the same parameter, so equal expressions are equal text. */
  bind(value: unknown, type: string): string {
    const key = `${type}\u0000${JSON.stringify(value)}`
    let name = this.seen.get(key)
    if (!name) {
      name = `p${this.next++}`
      this.values[name] = value
      this.seen.set(key, name)
    }
    return `{${name}:${type}}`
  }

  /** A point in time for a DateTime64(3, 'UTC') comparison. */
  time(ms: number): string {
    return this.bind(dateTimeParam(ms), "DateTime64(3, 'UTC')")
  }
}

import type { Comparable, Scalar, ScalarKind } from '../core/compareValue.js'

/**
 * A type-aware comparison. The filter's value decides how the stored value is read: a number
 * compares numerically, a string as text, a boolean as a boolean; list operators take the type
 * of the list's first item.
 */
export function compare(p: Params, extract: (kind: ScalarKind) => string, has: string, c: Comparable): string {
  const v = c.value
  const first = Array.isArray(v) ? v[0] : v
  const kind: ScalarKind = typeof first === 'number' ? 'Float' : typeof first === 'boolean' ? 'Bool' : 'String'
  const one = (x: Scalar) =>
    kind === 'Float' ? p.bind(Number(x), 'Float64') : kind === 'Bool' ? p.bind(x ? 1 : 0, 'UInt8') : p.bind(String(x), 'String')
  const list = () => {
    const items = Array.isArray(v) ? v : v === undefined ? [] : [v]
    return kind === 'Float' ? p.bind(items.map(Number), 'Array(Float64)') : p.bind(items.map(String), 'Array(String)')
  }
  const x = extract(kind === 'Bool' ? 'Bool' : kind)
  switch (c.op) {
    case 'exists':
      return `(${has})`
    case 'not_exists':
      return `(NOT ${has})`
    case 'eq':
      return `(${has} AND ${x} = ${one(first ?? '')})`
    case 'neq':
      return `(NOT (${has} AND ${x} = ${one(first ?? '')}))`
    case 'in':
      return `(${has} AND ${x} IN ${list()})`
    case 'not_in':
      return `(NOT (${has} AND ${x} IN ${list()}))`
    case 'contains':
      return `(${has} AND positionCaseInsensitiveUTF8(${extract('String')}, ${p.bind(String(first ?? ''), 'String')}) > 0)`
    case 'starts_with':
      return `(${has} AND startsWith(${extract('String')}, ${p.bind(String(first ?? ''), 'String')}))`
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const sym = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[c.op]
      return `(${has} AND ${extract('Float')} ${sym} ${p.bind(Number(first), 'Float64')})`
    }
    case 'between': {
      const [lo, hi] = Array.isArray(v) ? v : [v, v]
      return `(${has} AND ${extract('Float')} BETWEEN ${p.bind(Number(lo), 'Float64')} AND ${p.bind(Number(hi), 'Float64')})`
    }
  }
}

/** `JSONExtract<Kind>(column, 'a', 'b')` for a dotted path, each segment bound. */
export function jsonPath(p: Params, column: string, path: string): string[] {
  return [column, ...path.split('.').map((seg) => p.bind(seg, 'String'))]
}
