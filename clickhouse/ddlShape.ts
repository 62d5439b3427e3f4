/**
 * The statement shapes Nudge's migrations use, taken apart just enough to rewrite them for a
 * cluster (clusterDdl.ts). This is not a SQL parser: it recognises the few shapes that occur and
 * names everything else as unsupported, so a migration the cluster transform cannot place fails
 * loudly at generation time instead of creating a table on one node only.
 */
export type DdlShape =
  | {
      kind: 'createTable'
      table: string
      ifNotExists: boolean
      /** Columns, indexes and projections: the text between the parentheses. */
      body: string
      engine: string
      /** The engine's arguments as written (`updated_at`), or '' for none. */
      engineArgs: string
      /** PARTITION BY, ORDER BY, TTL, SETTINGS: everything after the engine. */
      tail: string
    }
  | { kind: 'createView'; view: string; ifNotExists: boolean; target: string; columns: string[]; source: string; tail: string }
  | { kind: 'alterTable'; table: string; commands: string[] }
  | { kind: 'drop'; what: 'TABLE' | 'VIEW'; name: string; ifExists: boolean }

export class ClusterDdlError extends Error {
  readonly code = 'cluster_ddl_unsupported'
  constructor(
    message: string,
    readonly statement: string,
  ) {
    super(`${message}\n  in: ${statement.replace(/\s+/g, ' ').slice(0, 160)}`)
    this.name = 'ClusterDdlError'
  }
}

const CREATE_TABLE = /^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\(/i
const ENGINE = /^\s*ENGINE\s*=\s*(\w+)\s*/i
const CREATE_VIEW =
  /^CREATE\s+MATERIALIZED\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s+TO\s+(\w+)\s+AS\s+SELECT\s+([\s\S]+?)\s+FROM\s+(\w+)\b([\s\S]*)$/i
const ALTER_TABLE = /^ALTER\s+TABLE\s+(\w+)\s+([\s\S]+)$/i
const DROP = /^DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?(\w+)\s*$/i

export function parseDdl(statement: string): DdlShape {
  const s = statement.trim()
  if (CREATE_TABLE.test(s)) return parseCreateTable(s)
  const view = CREATE_VIEW.exec(s)
  if (view) {
    const [, ifNot, name, target, select, source, tail] = view
    // A view reading more than one table (a join, a subquery) cannot be placed by its source alone.
    if (/\b(SELECT|FROM|JOIN)\b/i.test(`${select} ${tail}`))
      throw new ClusterDdlError('a materialized view must read one table (no join or subquery)', s)
    return {
      kind: 'createView',
      view: name!,
      ifNotExists: Boolean(ifNot),
      target: target!,
      columns: splitTopLevel(select!),
      source: source!,
      tail: tail!.trim(),
    }
  }
  const alter = ALTER_TABLE.exec(s)
  if (alter) return { kind: 'alterTable', table: alter[1]!, commands: splitTopLevel(alter[2]!) }
  const drop = DROP.exec(s)
  if (drop) return { kind: 'drop', what: drop[1]!.toUpperCase() as 'TABLE' | 'VIEW', name: drop[3]!, ifExists: Boolean(drop[2]) }
  throw new ClusterDdlError('statement shape not handled by the cluster transform', s)
}

function parseCreateTable(s: string): DdlShape {
  const head = CREATE_TABLE.exec(s)!
  const open = head[0].length - 1
  const close = matchingParen(s, open)
  const rest = s.slice(close + 1)
  const engine = ENGINE.exec(rest)
  if (!engine) throw new ClusterDdlError('CREATE TABLE without ENGINE = … after its columns', s)
  let after = rest.slice(engine[0].length)
  let engineArgs = ''
  if (after.startsWith('(')) {
    const end = matchingParen(after, 0)
    engineArgs = after.slice(1, end).trim()
    after = after.slice(end + 1)
  }
  return {
    kind: 'createTable',
    table: head[2]!,
    ifNotExists: Boolean(head[1]),
    body: s.slice(open + 1, close),
    engine: engine[1]!,
    engineArgs,
    tail: after.trim(),
  }
}

/** Index of the parenthesis closing the one at `open`, skipping quoted text. */
function matchingParen(s: string, open: number): number {
  let depth = 0
  for (let i = open; i < s.length; i++) {
    const c = s[i]!
    if (c === "'" || c === '`' || c === '"') i = endOfQuote(s, i)
    else if (c === '(') depth++
    else if (c === ')' && --depth === 0) return i
  }
  throw new ClusterDdlError('unbalanced parentheses', s)
}

function endOfQuote(s: string, start: number): number {
  const q = s[start]
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\') i++
    else if (s[i] === q) return i
  }
  return s.length
}

/** Splits at commas outside parentheses and quotes (`DateTime64(3, 'UTC')` stays whole). */
export function splitTopLevel(s: string): string[] {
  const parts: string[] = []
  let depth = 0
  let from = 0
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === "'" || c === '`' || c === '"') i = endOfQuote(s, i)
    else if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(from, i).trim())
      from = i + 1
    }
  }
  parts.push(s.slice(from).trim())
  return parts.filter(Boolean)
}
