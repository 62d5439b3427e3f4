/**
 * ClickHouse's JSON functions, on values already parsed in JavaScript: what `JSONHas` and
 * `JSONExtract{String,Float,Bool}` return for the same document. The live evaluator reads event
 * properties and trait values through these, so it agrees with the compiled SQL (a differential
 * test checks both against the engine).
 *
 * Known, accepted differences: duplicate keys (ClickHouse keeps the first, JSON.parse the last);
 * integers beyond 2^53 (JavaScript has already rounded them).
 */
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json }

const MISSING = Symbol('missing')

/** The value at a dotted path (each segment an object key; arrays are not indexed by name). */
export function atPath(doc: unknown, path: string[]): Json | typeof MISSING {
  let cur: unknown = doc
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, seg)) return MISSING
    cur = (cur as Record<string, unknown>)[seg]
  }
  return cur as Json
}

export function jsonHas(doc: unknown, path: string[]): boolean {
  return atPath(doc, path) !== MISSING
}

/** Numbers print as ClickHouse prints them (`1e21`, not `1e+21`); objects and arrays as compact JSON. */
export function extractString(v: Json | typeof MISSING): string {
  if (v === MISSING || v === null) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number') return Number.isFinite(v) ? String(v).replace('e+', 'e') : ''
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  return JSON.stringify(v)
}

// What ClickHouse reads as a number inside a JSON string: no spaces, no hex, no separators —
// but inf, infinity and nan in any case, with a sign.
const NUMERIC_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const NON_FINITE_TEXT = /^([+-]?)(inf|infinity|nan)$/i

export function extractFloat(v: Json | typeof MISSING): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : 0
  if (typeof v !== 'string') return 0
  const special = NON_FINITE_TEXT.exec(v)
  if (special) return special[2]!.toLowerCase() === 'nan' ? Number.NaN : special[1] === '-' ? -Infinity : Infinity
  return NUMERIC_TEXT.test(v) ? Number(v) : 0
}

/** true/false, and integers (non-zero → true); everything else, strings included, is false. */
export function extractBool(v: Json | typeof MISSING): boolean {
  if (typeof v === 'boolean') return v
  if (typeof v === 'number') return Number.isInteger(v) && v !== 0 && Math.abs(v) < 1e21
  return false
}

/** A trait's stored text (JSON of the value) parsed once; malformed text reads as a missing value. */
export function parseStored(text: string): Json | typeof MISSING {
  try {
    return JSON.parse(text) as Json
  } catch {
    return MISSING
  }
}

export { MISSING }
