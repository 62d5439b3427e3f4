import type { Comparable } from '../segments/sqlBuilder.js'

/**
 * The live twin of `sqlBuilder.compare`: the same type-aware comparison, on values read the way
 * ClickHouse reads them (`jsonValue.ts`). ClickHouse's JSONExtract functions never return NULL
 * (unreadable numbers are 0, "inf"/"nan" text is ±inf/NaN), so plain booleans mirror the SQL.
 */
export type Kind = 'String' | 'Float' | 'Bool'
export type Extract = {
  (kind: 'String'): string
  (kind: 'Float'): number
  (kind: 'Bool'): boolean
}

type Scalar = string | number | boolean

export function kindOf(c: Comparable): Kind {
  const first = Array.isArray(c.value) ? c.value[0] : c.value
  return typeof first === 'number' ? 'Float' : typeof first === 'boolean' ? 'Bool' : 'String'
}

/** Compares with precomputed operands; build once per rule, call per value. */
export function comparer(c: Comparable): (has: boolean, extract: Extract) => boolean {
  const v = c.value
  const first = Array.isArray(v) ? v[0] : v
  const kind = kindOf(c)
  const items: Scalar[] = Array.isArray(v) ? v : v === undefined ? [] : [v]
  const one = first ?? ''
  const same = (extract: Extract): boolean =>
    kind === 'Float'
      ? extract('Float') === Number(one)
      : kind === 'Bool'
        ? extract('Bool') === Boolean(one)
        : extract('String') === String(one)
  const numbers = items.map(Number)
  const texts = items.map(String)
  // A boolean against a list never matches (the engine refuses that rule at save time anyway).
  const member = (has: boolean, extract: Extract): boolean =>
    has && (kind === 'Float' ? numbers.includes(extract('Float')) : kind === 'String' ? texts.includes(extract('String')) : false)
  switch (c.op) {
    case 'exists':
      return (has) => has
    case 'not_exists':
      return (has) => !has
    case 'eq':
      return (has, extract) => has && same(extract)
    case 'neq':
      return (has, extract) => !(has && same(extract))
    case 'in':
      return member
    case 'not_in':
      return (has, extract) => !member(has, extract)
    case 'contains': {
      const needle = String(one).toLowerCase()
      return (has, extract) => has && extract('String').toLowerCase().includes(needle)
    }
    case 'starts_with': {
      const prefix = String(one)
      return (has, extract) => has && extract('String').startsWith(prefix)
    }
    case 'gt':
      return (has, extract) => has && extract('Float') > Number(first)
    case 'gte':
      return (has, extract) => has && extract('Float') >= Number(first)
    case 'lt':
      return (has, extract) => has && extract('Float') < Number(first)
    case 'lte':
      return (has, extract) => has && extract('Float') <= Number(first)
    case 'between': {
      const [lo, hi] = Array.isArray(v) ? v.map(Number) : [Number(v), Number(v)]
      return (has, extract) => has && extract('Float') >= lo! && extract('Float') <= hi!
    }
  }
}

/** The reader for one JSON value, as `comparer` asks for it. */
export function readerOf(read: { string(): string; float(): number; bool(): boolean }): Extract {
  return ((kind: Kind) => (kind === 'Float' ? read.float() : kind === 'Bool' ? read.bool() : read.string())) as Extract
}
