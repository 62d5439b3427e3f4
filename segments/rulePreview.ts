import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'
import { ValidationError } from '../core/errors.js'
import { type CompileContext, compileSegment } from './compile.js'
import type { Rule } from './ruleSchema.js'

/**
 * Runs the compiled rule on no rows: what only the engine can refuse (a string compared with a
 * number, say) is a 400 at save time, never a broken segment later.
 */
export async function dryRun(client: ClickHouseClient, rule: Rule, context: CompileContext): Promise<void> {
  const q = compileSegment(rule, context)
  await evaluable(() =>
    selectRows(
      client,
      `SELECT * FROM (${q.sql.replace(/\nSETTINGS join_use_nulls = 0$/, '')}) LIMIT 0 SETTINGS join_use_nulls = 0`,
      q.params,
    ),
  )
}

/** Size and a sample of who would match, without saving anything. */
export async function previewRule(
  client: ClickHouseClient,
  rule: Rule,
  context: CompileContext,
  sample: number,
): Promise<{ size: number; sample: string[] }> {
  const q = compileSegment(rule, context)
  const rows = await evaluable(() => selectRows<{ user_key: string }>(client, q.sql, q.params))
  return {
    size: rows.length,
    sample: rows
      .slice(0, sample)
      .map((r) => r.user_key)
      .sort(),
  }
}

/** Runs a query of a rule the user gave; an engine refusal is a 400 about the rule, not a 500. */
async function evaluable<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300)
    throw new ValidationError(`The rule cannot be evaluated: ${message}`, [
      { path: 'rule', rule: 'evaluable', message: `cannot be evaluated: ${message}` },
    ])
  }
}
