import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'
import { NudgeError, ValidationError } from '../core/errors.js'
import { type CompileContext, compileSegment } from './compile.js'
import type { Rule } from './ruleSchema.js'

/** The compiled rule's own settings clause: the wrappers below restate it with their additions. */
const RULE_SETTINGS = /\nSETTINGS join_use_nulls = 0$/

/** At most this many members come back with a preview's size (the API's largest sample). */
const MAX_SAMPLE = 1000

/**
 * An admin preview (or check) that did not finish within its time budget: the rule is allowed, it
 * is only too costly to answer about now. A 503 with Retry-After, never a 500 — and it never held
 * up membership changes, which run on another connection.
 */
export class PreviewTimeoutError extends NudgeError {
  constructor(budgetMs: number) {
    const message = `The rule could not be previewed within ${budgetMs / 1000} s; narrow it or try again later`
    super('overloaded', 503, message, [{ path: 'rule', rule: 'time_budget', message }], 5)
  }
}

/**
 * Runs the compiled rule on no rows: what only the engine can refuse (a string compared with a
 * number, say) is a 400 at save time, never a broken segment later.
 */
export async function dryRun(client: ClickHouseClient, rule: Rule, context: CompileContext, budgetMs?: number): Promise<void> {
  const q = compileSegment(rule, context)
  await evaluable(
    () => selectRows(client, `SELECT * FROM (${q.sql.replace(RULE_SETTINGS, '')}) LIMIT 0 ${settings(budgetMs)}`, q.params),
    budgetMs,
  )
}

/**
 * Size and a sample of who would match, without saving anything: one row back, not every member
 * (a rule matching a million users would otherwise ship a million keys), within `budgetMs`.
 */
export async function previewRule(
  client: ClickHouseClient,
  rule: Rule,
  context: CompileContext,
  sample: number,
  budgetMs?: number,
): Promise<{ size: number; sample: string[] }> {
  const q = compileSegment(rule, context)
  const sql = `SELECT count() AS size, groupArray(${MAX_SAMPLE})(user_key) AS sample FROM (${q.sql.replace(RULE_SETTINGS, '')}) ${settings(budgetMs)}`
  const [row] = await evaluable(() => selectRows<{ size: number | string; sample: string[] }>(client, sql, q.params), budgetMs)
  return { size: Number(row?.size ?? 0), sample: (row?.sample ?? []).slice(0, sample).sort() }
}

/**
 * The query's own settings: a time budget here, in the statement, not as a session setting
 * (the embedded engine would keep a session setting for every later statement on the connection).
 */
function settings(budgetMs: number | undefined): string {
  const budget = budgetMs ? `, max_execution_time = ${Math.max(0.001, budgetMs / 1000)}` : ''
  return `SETTINGS join_use_nulls = 0${budget}`
}

/** Runs a query of a rule the user gave; an engine refusal is a 400 about the rule, a timeout a 503 — not a 500. */
async function evaluable<T>(run: () => Promise<T>, budgetMs: number | undefined): Promise<T> {
  try {
    return await run()
  } catch (err) {
    if (budgetMs && isTimeout(err)) throw new PreviewTimeoutError(budgetMs)
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300)
    throw new ValidationError(`The rule cannot be evaluated: ${message}`, [
      { path: 'rule', rule: 'evaluable', message: `cannot be evaluated: ${message}` },
    ])
  }
}

/** The engine's TIMEOUT_EXCEEDED (code 159), as the client reports it over either transport. */
function isTimeout(err: unknown): boolean {
  const e = err as { code?: unknown; type?: unknown; message?: unknown }
  return String(e?.code) === '159' || e?.type === 'TIMEOUT_EXCEEDED' || /TIMEOUT_EXCEEDED|Timeout exceeded/.test(String(e?.message))
}
