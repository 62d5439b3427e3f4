import { Board } from './panels.js'
import { sql } from './queries.js'
import { journeyFilter } from './sql.js'
import { journeyVariable } from './variables.js'

/**
 * Journeys: how many runs start, what they send, what they skip and why, and how many convert.
 * Test sends (`is_test = 1`) are left out everywhere. A run is counted once per (workflow,
 * triggering message) even if its row was written twice (a retried activity records again); a
 * send once per message id.
 *
 * A conversion is a run that ended because its exit event happened (`outcome` = `exit:<event>`,
 * e.g. the cart was bought) or that was recorded as `converted`.
 */
const CONVERTED = `(startsWith(outcome, 'exit:') OR outcome = 'converted')`

export function journeysDashboard(): Board {
  const b = new Board({
    uid: 'nudge-journeys',
    title: 'Nudge · Journeys',
    description: 'Entries, sends, skips by reason and conversions per journey (test sends excluded)',
    tags: ['journeys'],
    from: 'now-7d',
  })
  b.variable(journeyVariable())

  overviewRow(b)
  overTimeRow(b)
  byJourneyRow(b)
  return b
}

function overviewRow(b: Board): void {
  b.row('Overview')
  b.stat({
    title: 'Entries',
    description: 'Runs started in the range',
    queries: [
      sql({
        format: 'table',
        columns: ['entries'],
        sql: `
          SELECT uniqExact(workflow_id, trigger_message_id) AS entries
          FROM journey_runs
          WHERE $__timeFilter(at) AND phase = 'started' AND is_test = 0 AND ${journeyFilter()}`,
      }),
    ],
  })
  b.stat({
    title: 'Sends',
    description: 'Messages handed to the mail transport (send ledger, status sent)',
    queries: [
      sql({
        format: 'table',
        columns: ['sends'],
        sql: `
          SELECT uniqExact(message_id) AS sends
          FROM send_ledger
          WHERE $__timeFilter(at) AND status = 'sent' AND is_test = 0 AND ${journeyFilter()}`,
      }),
    ],
  })
  b.stat({
    title: 'Conversions',
    description: "Runs that ended on their exit event (outcome 'exit:…') or as converted",
    queries: [
      sql({
        format: 'table',
        columns: ['conversions'],
        sql: `
          SELECT uniqExact(workflow_id, trigger_message_id) AS conversions
          FROM journey_runs
          WHERE $__timeFilter(at) AND phase = 'ended' AND ${CONVERTED} AND is_test = 0 AND ${journeyFilter()}`,
      }),
    ],
  })
  b.stat({
    title: 'Conversion rate',
    description: 'Conversions ÷ entries in the range',
    unit: 'percentunit',
    decimals: 1,
    queries: [
      sql({
        format: 'table',
        columns: ['conversion_rate'],
        sql: `
          SELECT uniqExactIf(workflow_id, trigger_message_id, phase = 'ended' AND ${CONVERTED})
                 / nullIf(uniqExactIf(workflow_id, trigger_message_id, phase = 'started'), 0) AS conversion_rate
          FROM journey_runs
          WHERE $__timeFilter(at) AND is_test = 0 AND ${journeyFilter()}`,
      }),
    ],
  })
}

function overTimeRow(b: Board): void {
  b.row('Over time')
  volumeOverTime(b)
  outcomesOverTime(b)
}

/** Entries, sends and skips over time: what the journeys do. */
function volumeOverTime(b: Board): void {
  countOverTime(b, {
    title: 'Entries per journey',
    description: "Runs started (journey_runs, phase 'started')",
    count: ['entries', RUNS],
    from: 'journey_runs',
    where: `phase = 'started'`,
  })
  countOverTime(b, {
    title: 'Sends per journey',
    description: "Messages sent (send_ledger, status 'sent')",
    count: ['sends', SENDS],
    from: 'send_ledger',
    where: `status = 'sent'`,
  })
  countOverTime(b, {
    title: 'Skips by reason',
    description:
      "Send steps skipped (journey_steps, outcome 'skipped'), by the gate's reason: consent, frequency cap, suppression, exit, template error…",
    series: ['reason', `if(reason = '', '(none)', reason)`],
    count: ['skips', SKIPS],
    from: 'journey_steps',
    where: `outcome = 'skipped'`,
    stacked: true,
  })
}

/** Conversions and how runs ended: what the journeys achieve. */
function outcomesOverTime(b: Board): void {
  countOverTime(b, {
    title: 'Conversions per journey',
    description: "Runs ended on their exit event (outcome 'exit:…') or as converted",
    count: ['conversions', RUNS],
    from: 'journey_runs',
    where: `phase = 'ended' AND ${CONVERTED}`,
  })
  countOverTime(b, {
    title: 'Run outcomes',
    description: 'How runs ended: completed, exit:<event>, holdout, exited, template_error…',
    series: ['outcome', 'toString(outcome)'],
    count: ['runs', RUNS],
    from: 'journey_runs',
    where: `phase = 'ended'`,
    stacked: true,
  })
  b.barchart({
    title: 'Skips by reason (total)',
    description: 'Skipped send steps in the range, by reason',
    xField: 'reason',
    queries: [
      sql({
        format: 'table',
        columns: ['reason', 'skips'],
        sql: `
          SELECT if(reason = '', '(none)', reason) AS reason, uniqExact(workflow_id, step_id, message_id) AS skips
          FROM journey_steps
          WHERE $__timeFilter(at) AND outcome = 'skipped' AND is_test = 0 AND ${journeyFilter()}
          GROUP BY reason
          ORDER BY skips DESC, reason`,
      }),
    ],
  })
}

function byJourneyRow(b: Board): void {
  b.row('By journey')
  b.table({
    title: 'Journeys',
    description: 'Per journey over the range: entries, sends, skips, conversions and the conversion rate (conversions ÷ entries)',
    queries: [
      sql({
        format: 'table',
        columns: ['journey', 'entries', 'sends', 'skips', 'conversions', 'conversion_rate'],
        sql: `
          SELECT journey, sum(e) AS entries, sum(s) AS sends, sum(k) AS skips, sum(c) AS conversions,
                 round(sum(c) / nullIf(sum(e), 0), 4) AS conversion_rate
          FROM (
            SELECT toString(journey_id) AS journey,
                   uniqExactIf(workflow_id, trigger_message_id, phase = 'started') AS e, 0 AS s, 0 AS k,
                   uniqExactIf(workflow_id, trigger_message_id, phase = 'ended' AND ${CONVERTED}) AS c
            FROM journey_runs
            WHERE $__timeFilter(at) AND is_test = 0 AND ${journeyFilter()}
            GROUP BY journey
            UNION ALL
            SELECT toString(journey_id), 0, uniqExact(message_id), 0, 0
            FROM send_ledger
            WHERE $__timeFilter(at) AND status = 'sent' AND is_test = 0 AND ${journeyFilter()}
            GROUP BY journey_id
            UNION ALL
            SELECT toString(journey_id), 0, 0, uniqExact(workflow_id, step_id, message_id), 0
            FROM journey_steps
            WHERE $__timeFilter(at) AND outcome = 'skipped' AND is_test = 0 AND ${journeyFilter()}
            GROUP BY journey_id
          )
          GROUP BY journey
          ORDER BY entries DESC, journey`,
      }),
    ],
  })
}

/** Distinct runs, sends and skipped steps: a retried activity's second row counts once. */
const RUNS = 'uniqExact(workflow_id, trigger_message_id)'
const SENDS = 'uniqExact(message_id)'
const SKIPS = 'uniqExact(workflow_id, step_id, message_id)'

/**
 * A count per time bucket, one series per value of `series` (its name and SQL expression; by
 * default the journey), over the non-test rows of one table for the picked journeys: the shape of
 * every panel over time here.
 */
function countOverTime(
  b: Board,
  o: {
    title: string
    description: string
    series?: [string, string]
    count: [string, string]
    from: string
    where: string
    stacked?: boolean
  },
): void {
  const [label, labelSql] = o.series ?? ['journey', 'toString(journey_id)']
  const [count, countSql] = o.count
  b.timeseries({
    title: o.title,
    description: o.description,
    displayName: `\${__field.labels.${label}}`,
    ...(o.stacked ? { stack: true, bars: true } : {}),
    queries: [
      sql({
        format: 'time_series',
        columns: ['time', label, count],
        sql: `
          SELECT $__timeInterval(at) AS time, ${labelSql} AS ${label}, ${countSql} AS ${count}
          FROM ${o.from}
          WHERE $__timeFilter(at) AND ${o.where} AND is_test = 0 AND ${journeyFilter()}
          GROUP BY time, ${label}
          ORDER BY time`,
      }),
    ],
  })
}
