/**
 * Byte bounds for text Nudge hands to systems that count bytes (Temporal's ids and search
 * attributes, a message id). Pure and dependency-free: workflow code (a sandbox without Node's
 * modules) uses it as well as the process.
 */

/** UTF-8 length in bytes; a lone surrogate counts as the 3 bytes of the U+FFFD it is sent as. */
export function utf8Length(s: string): number {
  let n = 0
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
  }
  return n
}

/** A lone surrogate: text no UTF-8 encoder can carry as it is (in u-mode a pair is one code point, so only unpaired halves match). */
export const LONE_SURROGATE = /\p{Surrogate}/u

/**
 * `s` with every lone surrogate as U+FFFD — what a UTF-8 encoder (a browser, nodemailer) sends for
 * it anyway, and what the store can hold (it refuses a lone `\ud800` on every attempt).
 */
export function wellFormed(s: string): string {
  return LONE_SURROGATE.test(s) ? s.replace(/\p{Surrogate}/gu, '\uFFFD') : s
}

/**
 * The longest prefix of `s` within `maxBytes` of UTF-8, cut between code points (never inside an
 * emoji's surrogate pair) and well-formed (a lone surrogate becomes U+FFFD). For labels — a
 * reason, a step — where a cut is harmless; an id that must stay distinct goes through
 * `boundedId` (core/boundedId.ts) instead.
 */
export function cutUtf8(s: string, maxBytes: number): string {
  let out = ''
  let n = 0
  for (let ch of s) {
    if (LONE_SURROGATE.test(ch)) ch = '\uFFFD'
    const c = ch.codePointAt(0)!
    const w = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
    if (n + w > maxBytes) break
    out += ch
    n += w
  }
  return out
}
