import fc from 'fast-check'

/**
 * fast-check arbitraries from the JSON Schemas in Nudge's /openapi.json (which the routes' zod
 * schemas generate): values of the documented shape, the same with one node replaced by something
 * nasty, and the nasty values themselves. Used by the fuzz test; nothing here knows a route.
 */
export type JsonSchema = Record<string, any>

/** Markers a serialiser replaces with JSON text no JS value can produce (see `toJsonText`). */
const DEEP = '\u0000DEEP:'
const RAW = '\u0000RAW:'

export class SchemaArbitraries {
  private readonly refs = new Map<string, fc.Arbitrary<unknown>>()

  constructor(private readonly components: Record<string, JsonSchema>) {}

  /** A value of the schema's shape (recursion cut off at `depth`). */
  valid(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
    if (!schema || depth > 8) return fc.constantFrom<unknown>(null, 'x', 1, {})
    if (schema.$ref) {
      const name = String(schema.$ref).split('/').pop()!
      const target = this.components[name]
      if (!target) return fc.constant({})
      // Built once per (schema, depth), on first use: recursive schemas (segment rules) stay finite,
      // and building arbitraries (regexes above all) is far dearer than drawing from them.
      const key = `${name}@${depth}`
      let lazy = this.refs.get(key)
      if (!lazy) {
        let built: fc.Arbitrary<unknown> | undefined
        lazy = fc.constant(null).chain(() => (built ??= this.valid(target, depth + 1)))
        this.refs.set(key, lazy)
      }
      return lazy
    }
    if ('const' in schema) return fc.constant(schema.const)
    if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]))
    const options = schema.anyOf ?? schema.oneOf
    if (Array.isArray(options) && options.length) return fc.oneof(...options.map((o: JsonSchema) => this.valid(o, depth + 1)))
    if (Array.isArray(schema.allOf) && schema.allOf.length) return this.valid({ ...schema, allOf: undefined, ...schema.allOf[0] }, depth)
    const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
    switch (type) {
      case 'string':
        return this.string(schema)
      case 'integer': {
        const min = Math.max(
          Number.MIN_SAFE_INTEGER,
          schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1000),
        )
        const max = Math.min(
          Number.MAX_SAFE_INTEGER,
          schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : Math.max(min, 0) + 1000),
        )
        return min <= max ? fc.integer({ min, max }) : fc.constant(min)
      }
      case 'number': {
        const min = schema.minimum ?? schema.exclusiveMinimum ?? -1e6
        const max = schema.maximum ?? schema.exclusiveMaximum ?? 1e6
        return min <= max ? fc.double({ min, max, noNaN: true, noDefaultInfinity: true }) : fc.constant(min)
      }
      case 'boolean':
        return fc.boolean()
      case 'null':
        return fc.constant(null)
      case 'array': {
        // Small beyond the minimum, and only the minimum deep down: values stay small and quick to make.
        const minLength = Math.min(schema.minItems ?? 0, 30)
        const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? 3, minLength + (depth > 4 ? 0 : 3)))
        if (Array.isArray(schema.prefixItems)) return fc.tuple(...schema.prefixItems.map((s: JsonSchema) => this.valid(s, depth + 1)))
        return fc.array(this.valid(schema.items, depth + 1), { minLength, maxLength })
      }
      case 'object':
        return this.object(schema, depth)
      default:
        if (schema.properties) return this.object(schema, depth)
        return this.anyJson()
    }
  }

  private string(schema: JsonSchema): fc.Arbitrary<string> {
    if (schema.format === 'date-time')
      return fc.date({ min: new Date('1971-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((d) => d.toISOString())
    if (schema.format === 'email') return fc.emailAddress()
    if (schema.format === 'uri' || schema.format === 'url') return fc.webUrl()
    if (schema.pattern) {
      try {
        const max = schema.maxLength ?? 200
        return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= (schema.minLength ?? 0) && s.length <= max)
      } catch {
        // a pattern fast-check cannot generate from: plain strings
      }
    }
    const minLength = schema.minLength ?? 0
    const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 20, 40))
    if (maxLength < 1) return fc.constant('')
    // Identifier-like strings of the asked length, drawn directly: a regex of bounded length
    // filtered to a minimum it can rarely reach (a 16-character secret) never ends.
    const word = fc.tuple(
      fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'),
      fc.string({
        unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_'),
        minLength: Math.max(0, minLength - 1),
        maxLength: maxLength - 1,
      }),
    )
    return fc.oneof(
      fc.string({ minLength, maxLength }),
      word.map(([first, rest]) => first + rest),
    )
  }

  private object(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
    const props: Record<string, JsonSchema> = schema.properties ?? {}
    const required = new Set<string>(schema.required ?? [])
    const record: Record<string, fc.Arbitrary<unknown>> = {}
    for (const [k, s] of Object.entries(props)) record[k] = this.valid(s, depth + 1)
    const base = fc.record(record, { requiredKeys: Object.keys(props).filter((k) => required.has(k)), noNullPrototype: true })
    const extra = schema.additionalProperties
    if (!extra || Object.keys(props).length) return base
    const valueArb = extra === true ? this.anyJson() : this.valid(extra, depth + 1)
    return fc.dictionary(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.]{0,12}$/), valueArb, { maxKeys: 4 })
  }

  /** Ordinary JSON: what a free-form object (properties, traits) usually holds. */
  anyJson(): fc.Arbitrary<unknown> {
    return fc.jsonValue({ maxDepth: 3 })
  }

  /** A documented-shape value with one node (anywhere, at any depth) replaced by a nasty one. */
  mutated(schema: JsonSchema | undefined): fc.Arbitrary<unknown> {
    return fc
      .tuple(this.valid(schema), fc.array(fc.nat(), { maxLength: 6 }), nasty(), fc.boolean())
      .map(([value, walk, bad, addKey]) => replaceAt(value, walk, bad, addKey))
  }
}

/** Values that have broken parsers and stores elsewhere. */
export function nasty(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -1,
      -0,
      1.5,
      1e308,
      -1e308,
      2 ** 53 + 1,
      Number.MAX_SAFE_INTEGER,
      4294967296,
      '',
      ' ',
      '\u0000',
      '\ud800',
      'a\udc00b',
      '\udbff\udbff',
      '😀',
      '👩‍👩‍👧‍👦',
      '\u202e',
      '\ufeff',
      '\r\n',
      '\t',
      '\\',
      '"',
      "'",
      '`',
      '../../../etc/passwd',
      '<script>alert(1)</script>',
      "'; DROP TABLE events; --",
      '{{ 7 | times: 7 }}',
      '{% include "x" %}',
      '%00',
      '%ff',
      'NaN',
      'Infinity',
      '-Infinity',
      '1e309',
      '0x10',
      'true',
      'null',
      '[]',
      '{}',
      '2024-13-45T99:99:99Z',
      '0001-01-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
      '1969-12-31T23:59:59Z',
      '2024-05-01',
      '7 days',
      '-1d',
      '1e9w',
      [],
      {},
      [[[]]],
      [null],
      { __proto__: null, constructor: { prototype: { polluted: 1 } } },
      JSON.parse('{"__proto__":{"polluted":1}}'),
      `${DEEP}64`,
      `${DEEP}65`,
      `${DEEP}5000`,
      `${DEEP}100000`,
      `${RAW}1e309`,
      `${RAW}-1e309`,
      `${RAW}1E400`,
      `${RAW}-0`,
      `${RAW}0.${'0'.repeat(400)}1`,
      `${RAW}${'9'.repeat(400)}`,
      `${RAW}NaN`,
      `${RAW}Infinity`,
    ),
    fc.constantFrom('x'.repeat(100_000), 'é'.repeat(40_000), '😀'.repeat(20_000), 'a'.repeat(257), 'a'.repeat(101), '\ud800'.repeat(1000)),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.string({ unit: fc.constantFrom('\ud800', '\udfff', 'a', '\u0000', '😀'), maxLength: 10 }),
    fc.double(),
    fc.integer(),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 5 }),
    fc.integer({ min: 100, max: 3000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
    fc.integer({ min: 100, max: 3000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
  )
}

function replaceAt(value: unknown, walk: number[], bad: unknown, addKey: boolean): unknown {
  if (walk.length === 0 || value === null || typeof value !== 'object') return bad
  const [step, ...rest] = walk as [number, ...number[]]
  if (Array.isArray(value)) {
    if (!value.length) return bad
    const copy = [...value]
    const i = step % copy.length
    copy[i] = replaceAt(copy[i], rest, bad, addKey)
    return copy
  }
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
  if (!keys.length || (addKey && rest.length === 0))
    return { ...obj, [typeof bad === 'string' && bad.length < 50 ? bad : `extra_${step}`]: bad }
  const key = keys[step % keys.length]!
  return { ...obj, [key]: replaceAt(obj[key], rest, bad, addKey) }
}

/** JSON text of a value, with the markers replaced: deep nesting and number literals JS cannot hold. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value ?? null).replace(/"\\u0000(DEEP|RAW):([^"]*)"/g, (_m, kind: string, arg: string) =>
    kind === 'DEEP' ? '['.repeat(Number(arg)) + ']'.repeat(Number(arg)) : arg,
  )
}

/** A path or query value as a URL component, whatever it holds (encodeURIComponent throws on a lone surrogate). */
export function pct(s: string): string {
  let out = ''
  for (const b of Buffer.from(s, 'utf8'))
    out += /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  return out
}
