/**
 * What Grafana and the ClickHouse data source do to a query's SQL before ClickHouse sees it —
 * exactly the macros the Nudge dashboards use, so the test can run every panel's SQL on the real
 * engine. Two stages, as in Grafana:
 *
 * 1. In the browser (the plugin's `applyTemplateVariables`): `$__conditionalAll(cond, $var)`
 *    becomes `1=1` when the variable is "All" (or empty) and `cond` otherwise; then `${var}`
 *    becomes its value — several values as `'a','b'`, one value as it is.
 * 2. In the plugin's backend, with the query's time range and interval:
 *    - `$__timeFilter(col)` → `col >= toDateTime(<from s>) AND col <= toDateTime(<to s>)`
 *    - `$__fromTime`, `$__toTime` → `toDateTime(<s>)`
 *    - `$__timeInterval(col)` → `toStartOfInterval(toDateTime(col), INTERVAL <n> second)`
 *    - `$__interval_s` → `<n>` (the interval in whole seconds, at least 1)
 *
 * Anything else that looks like a macro or a variable is an error, so a typo or a macro this
 * file does not know fails the test instead of reaching ClickHouse half-expanded.
 */
export const ALL = '$__all'

export type VariableValue = string | string[]

export interface MacroContext {
  from: Date
  to: Date
  /** The panel's interval (Grafana: range / max data points, rounded). */
  intervalMs: number
  variables?: Record<string, VariableValue>
}

export const FRONTEND_MACROS = ['conditionalAll'] as const
export const BACKEND_MACROS = ['timeFilter', 'fromTime', 'toTime', 'timeInterval', 'interval_s'] as const

/** Stage 1 + stage 2. */
export function expandQuery(sql: string, ctx: MacroContext): string {
  return expandBackendMacros(interpolateVariables(sql, ctx.variables ?? {}), ctx)
}

const isAll = (v: VariableValue | undefined) =>
  v === undefined || v === '' || v === ALL || (Array.isArray(v) && (v.length === 0 || v.includes(ALL)))

/** Stage 1: `$__conditionalAll` and template variables. */
export function interpolateVariables(sql: string, variables: Record<string, VariableValue>): string {
  let out = sql
  const macro = '$__conditionalAll('
  // Innermost last, as the plugin does (it searches from the end).
  for (let at = out.lastIndexOf(macro); at !== -1; at = out.lastIndexOf(macro)) {
    const { args, end } = macroArgs(out, at + macro.length - 1)
    if (args.length !== 2) throw new Error(`$__conditionalAll needs 2 arguments, got ${args.length}: ${out.slice(at, end)}`)
    const ref = /^\s*\$(?:\{(\w+)\}|(\w+))\s*$/.exec(args[1]!)
    if (!ref) throw new Error(`$__conditionalAll: the second argument must be a variable, got "${args[1]}"`)
    const name = (ref[1] ?? ref[2])!
    if (!(name in variables)) throw new Error(`$__conditionalAll: no value for variable "${name}"`)
    out = out.slice(0, at) + (isAll(variables[name]) ? '1=1' : args[0]!) + out.slice(end)
  }
  out = out.replace(/\$\{(\w+)(:\w+)?\}/g, (whole, name: string, format?: string) => {
    if (format) throw new Error(`variable formats are not used by the dashboards: ${whole}`)
    if (!(name in variables)) throw new Error(`no value for variable "${name}"`)
    const v = variables[name]!
    if (Array.isArray(v)) {
      if (isAll(v)) throw new Error(`\${${name}} is "All": guard it with $__conditionalAll`)
      for (const x of v) if (x.includes("'")) throw new Error(`a quote in a value of ${name} would break the SQL: ${x}`)
      return v.map((x) => `'${x}'`).join(',')
    }
    if (v === ALL) throw new Error(`\${${name}} is "All": guard it with $__conditionalAll`)
    return v
  })
  const bare = /\$(?!__)(\w+)/.exec(out)
  if (bare) throw new Error(`bare variable reference $${bare[1]}: use \${${bare[1]}}`)
  return out
}

/** Stage 2: the data source's time macros. */
export function expandBackendMacros(sql: string, ctx: MacroContext): string {
  const from = Math.floor(ctx.from.getTime() / 1000)
  const to = Math.floor(ctx.to.getTime() / 1000)
  const intervalS = Math.max(Math.floor(ctx.intervalMs / 1000), 1)
  let out = ''
  let i = 0
  const re = /\$__(\w+)/g
  for (let m = re.exec(sql); m; m = re.exec(sql)) {
    const name = m[1]!
    out += sql.slice(i, m.index)
    let end = m.index + m[0].length
    const arg = () => {
      if (sql[end] !== '(') throw new Error(`$__${name} needs an argument`)
      const r = macroArgs(sql, end)
      if (r.args.length !== 1 || !r.args[0]!.trim()) throw new Error(`$__${name} takes one argument, got: ${sql.slice(m!.index, r.end)}`)
      end = r.end
      return r.args[0]!.trim()
    }
    switch (name) {
      case 'timeFilter': {
        const col = arg()
        out += `${col} >= toDateTime(${from}) AND ${col} <= toDateTime(${to})`
        break
      }
      case 'fromTime':
        out += `toDateTime(${from})`
        break
      case 'toTime':
        out += `toDateTime(${to})`
        break
      case 'timeInterval':
        out += `toStartOfInterval(toDateTime(${arg()}), INTERVAL ${intervalS} second)`
        break
      case 'interval_s':
        out += String(intervalS)
        break
      default:
        throw new Error(`macro $__${name} is not one the dashboards use (or a frontend macro left unexpanded)`)
    }
    i = end
    re.lastIndex = end
  }
  return out + sql.slice(i)
}

/** The arguments of a macro call whose "(" is at `open`: split on top-level commas. */
function macroArgs(s: string, open: number): { args: string[]; end: number } {
  const args: string[] = []
  let depth = 0
  let start = open + 1
  let quote = false
  for (let i = open; i < s.length; i++) {
    const c = s[i]
    if (c === "'" && s[i - 1] !== '\\') quote = !quote
    if (quote) continue
    if (c === '(') depth++
    else if (c === ')') {
      depth--
      if (depth === 0) {
        args.push(s.slice(start, i))
        return { args, end: i + 1 }
      }
    } else if (c === ',' && depth === 1) {
      args.push(s.slice(start, i))
      start = i + 1
    }
  }
  throw new Error(`unbalanced parentheses after ${s.slice(open - 20, open + 20)}`)
}

/** The variables a query refers to (`${name}` and inside `$__conditionalAll`). */
export function referencedVariables(sql: string): string[] {
  const names = new Set<string>()
  for (const m of sql.matchAll(/\$\{(\w+)\}|\$(?!__)(\w+)/g)) names.add((m[1] ?? m[2])!)
  return [...names]
}
