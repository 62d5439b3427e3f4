import { describe, expect, it } from 'vitest'
import { jsonLimitIssues } from '../../core/jsonLimits.js'

describe('jsonLimitIssues: depth and lone surrogates, checked without recursion', () => {
  it('a value a million levels deep parses (V8 parses iteratively) and is refused at the limit, without a stack overflow', () => {
    const n = 1_000_000
    const value = JSON.parse('['.repeat(n) + ']'.repeat(n))
    // The 65th array is the one at 64 indices down.
    expect(jsonLimitIssues(value)).toEqual([{ path: '[0]'.repeat(64), rule: 'max_depth', message: 'must nest at most 64 levels' }])
    const obj = JSON.parse('{"a":'.repeat(n) + '1' + '}'.repeat(n))
    expect(jsonLimitIssues(obj, { maxDepth: 3, prefix: 'traits' })).toEqual([
      { path: 'traits.a.a.a', rule: 'max_depth', message: 'must nest at most 3 levels' },
    ])
  })

  it('exactly the limit is fine; one more is not', () => {
    const at = (d: number) => JSON.parse('['.repeat(d) + ']'.repeat(d))
    expect(jsonLimitIssues(at(64))).toEqual([])
    expect(jsonLimitIssues(at(65))).toHaveLength(1)
  })

  it('names a lone surrogate in a value or a key (shown escaped); a pair (an emoji) is fine', () => {
    const value = JSON.parse('{"ok":"\\ud83d\\ude00","list":["a","\\ud800"],"k\\udc00":1,"deep":{"x":"b\\udbff"}}')
    const found = jsonLimitIssues(value, { prefix: 'properties' }).map((i) => `${i.path} ${i.rule}`)
    expect(found.sort()).toEqual(['properties.deep.x unicode', 'properties.k\\udc00 unicode', 'properties.list[1] unicode'])
    expect(jsonLimitIssues({ e: '😀 é 中' })).toEqual([])
  })
})
