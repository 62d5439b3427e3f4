import { Liquid } from 'liquidjs'
import { PARTIALS } from './partials.js'

/**
 * The one Liquid configuration every template renders with — a sandbox: own properties only (no
 * prototype or constructor access), strict variables (a missing one is an error unless the
 * template gives a default or tests it with `if`), strict filters, and limits on render time and
 * memory (which bounds loops over huge ranges and string blow-ups). Partials come from memory,
 * never from the file system.
 */
export interface SandboxLimits {
  /** Wall time for one render (ms). */
  renderMs: number
  /** Memory a render may allocate for strings, arrays and ranges (liquidjs units ≈ elements/characters). */
  memory: number
  /** Template source size accepted at parse (characters). */
  parse: number
}

export const DEFAULT_LIMITS: SandboxLimits = { renderMs: 200, memory: 2_000_000, parse: 500_000 }

/** `html`: output is HTML-escaped unless `| raw` (a trait can never inject markup); `text`: as is. */
export function createLiquid(mode: 'html' | 'text', limits: SandboxLimits = DEFAULT_LIMITS): Liquid {
  const liquid = new Liquid({
    ownPropertyOnly: true,
    strictVariables: true,
    lenientIf: true,
    strictFilters: true,
    cache: false,
    renderLimit: limits.renderMs,
    memoryLimit: limits.memory,
    parseLimit: limits.parse,
    ...(mode === 'html' ? { outputEscape: 'escape' as const } : {}),
    relativeReference: false,
    partials: '/',
    extname: '.liquid',
    fs: memoryFs(PARTIALS),
  })
  registerFilters(liquid)
  return liquid
}

/**
 * A liquidjs file system over the built-in partials (`{% render 'product-card' %}`), and the only
 * one the engine has: `include`, `render` and `layout` all look names up here, so `'/etc/passwd'`,
 * `'../../x'` or a name built from a variable can only ever find one of Nudge's own partials. A Map,
 * not an object, so `constructor` or `__proto__` is not a partial either.
 */
export function memoryFs(files: Record<string, string>) {
  const known = new Map(Object.entries(files))
  const name = (file: string) => file.replace(/^\/+/, '').replace(/\.liquid$/, '')
  return {
    exists: async (file: string) => known.has(name(file)),
    existsSync: (file: string) => known.has(name(file)),
    readFile: async (file: string) => read(file),
    readFileSync: (file: string) => read(file),
    resolve: (_root: string, file: string, ext: string) => `/${file}${file.endsWith(ext) ? '' : ext}`,
    contains: async () => true,
    containsSync: () => true,
    sep: '/',
  }
  function read(file: string): string {
    const text = known.get(name(file))
    if (text === undefined) throw new Error(`no partial "${name(file)}"`)
    return text
  }
}

/**
 * Locale-aware formatting: money, dates and plural forms in the user's locale (the `locale` and
 * `currency` arguments default to what the render context's `user` carries, via the template).
 */
export function registerFilters(liquid: Liquid): void {
  liquid.registerFilter('money', (value: unknown, currency = 'USD', locale = 'en-US') => {
    const n = Number(value)
    if (!Number.isFinite(n)) return ''
    return formatter(
      `${locale}|${currency}`,
      () => new Intl.NumberFormat(safeLocale(locale), { style: 'currency', currency: safeCurrency(currency) }),
    ).format(n)
  })
  liquid.registerFilter(
    'local_date',
    (value: unknown, style: 'short' | 'medium' | 'long' | 'full' = 'medium', locale = 'en-US', timeZone = 'UTC') => {
      const d = new Date(typeof value === 'number' ? value : String(value))
      if (Number.isNaN(d.getTime())) return ''
      const dateStyle = (['short', 'medium', 'long', 'full'] as const).includes(style) ? style : 'medium'
      return formatter(
        `d|${locale}|${dateStyle}|${timeZone}`,
        () => new Intl.DateTimeFormat(safeLocale(locale), { dateStyle, timeZone: safeZone(timeZone) }),
      ).format(d)
    },
  )
  // {{ n | pluralize: 'item', 'items' }} → "1 item" / "3 items", by the locale's plural rules.
  liquid.registerFilter('pluralize', (value: unknown, one = '', other = '', locale = 'en-US') => {
    const n = Number(value)
    const rule = plurals(locale).select(Number.isFinite(n) ? n : 0)
    return `${Number.isFinite(n) ? n : 0} ${rule === 'one' ? one : other}`
  })
}

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>()
function formatter<T extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => T): T {
  let f = cache.get(key) as T | undefined
  if (!f) {
    if (cache.size > 1000) cache.clear()
    cache.set(key, (f = make()))
  }
  return f
}
const pluralRules = new Map<string, Intl.PluralRules>()
function plurals(locale: string): Intl.PluralRules {
  let r = pluralRules.get(locale)
  if (!r) pluralRules.set(locale, (r = new Intl.PluralRules(safeLocale(locale))))
  return r
}
// A bad locale, currency or zone in someone's profile formats with a default, not an error.
function safeLocale(l: unknown): string {
  try {
    return Intl.getCanonicalLocales(String(l))[0] ?? 'en-US'
  } catch {
    return 'en-US'
  }
}
function safeCurrency(c: unknown): string {
  return /^[A-Za-z]{3}$/.test(String(c)) ? String(c).toUpperCase() : 'USD'
}
function safeZone(z: unknown): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: String(z) })
    return String(z)
  } catch {
    return 'UTC'
  }
}
