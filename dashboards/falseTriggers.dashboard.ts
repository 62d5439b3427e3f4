import { Board } from './panels.js'
import { sql } from './queries.js'
import { COUNTED_FALSE_TRIGGER, journeyFilter } from './sql.js'
import { journeyVariable, nudgeApiVariable } from './variables.js'

/**
 * False triggers: sends that should not have happened, as Nudge's false-trigger monitor
 * (analytics/reports/falseTriggerMonitor.ts) records them in `false_triggers`
 * (analytics/migrations/010_reports.sql) — one row per finding with its class
 * (sent_after_conversion, sent_after_opt_out, duplicate, sent_in_quiet_hours, over_frequency_cap,
 * stale_trigger, test_account) and the evidence as JSON. `test_account` is informational: shown
 * by class, left out of the counts, the rate and the alert.
 */
const REPORT_LINK = { title: 'False-trigger report (Nudge API)', url: '${nudge_api}/api/reports/false-triggers' }
export function falseTriggersDashboard(): Board {
  const b = new Board({
    uid: 'nudge-false-triggers',
    title: 'Nudge · False triggers',
    description: 'Runs that should not have started: counts by class, rate per entry, and examples with their evidence',
    tags: ['journeys', 'quality'],
    from: 'now-7d',
  })
  b.variable(journeyVariable()).variable(nudgeApiVariable())

  overviewRow(b)
  byClassRow(b)
  examplesRow(b)
  return b
}

function overviewRow(b: Board): void {
  b.row('Overview')
  b.stat({
    title: 'False triggers',
    description: 'Findings in the range (test accounts left out)',
    thresholds: { base: 'green', steps: [[1, 'red']] },
    links: [REPORT_LINK],
    queries: [
      sql({
        format: 'table',
        columns: ['false_triggers'],
        sql: `SELECT count() AS false_triggers FROM false_triggers WHERE $__timeFilter(at) AND ${COUNTED_FALSE_TRIGGER} AND ${journeyFilter()}`,
      }),
    ],
  })
  b.stat({
    title: 'Rate per 1000 sends',
    description:
      "Sends with a false trigger per 1000 messages sent in the range (send_ledger, status 'sent'; test accounts left out) — the report's rate",
    decimals: 2,
    thresholds: { base: 'green', steps: [[0.001, 'red']] },
    queries: [
      sql({
        format: 'table',
        columns: ['per_1000_sends'],
        sql: `
          SELECT 1000 * (SELECT uniqExact(message_id) FROM false_triggers WHERE $__timeFilter(at) AND ${COUNTED_FALSE_TRIGGER} AND ${journeyFilter()})
                 / nullIf((SELECT uniqExact(message_id) FROM send_ledger
                           WHERE $__timeFilter(at) AND status = 'sent' AND is_test = 0 AND ${journeyFilter()}), 0) AS per_1000_sends`,
      }),
    ],
  })
  b.stat({
    title: 'Users affected',
    description: 'Distinct users with a false trigger in the range (test accounts left out)',
    queries: [
      sql({
        format: 'table',
        columns: ['users'],
        sql: `SELECT uniqExact(user_key) AS users FROM false_triggers WHERE $__timeFilter(at) AND ${COUNTED_FALSE_TRIGGER} AND ${journeyFilter()}`,
      }),
    ],
  })
  b.stat({
    title: 'Test-account runs',
    description: "Findings of class test_account: a test account's run — expected, informational",
    queries: [
      sql({
        format: 'table',
        columns: ['test_account'],
        sql: `SELECT count() AS test_account FROM false_triggers WHERE $__timeFilter(at) AND NOT (${COUNTED_FALSE_TRIGGER}) AND ${journeyFilter()}`,
      }),
    ],
  })
}

function byClassRow(b: Board): void {
  b.row('By class')
  b.timeseries({
    title: 'False triggers by class',
    description: 'Findings over time, stacked by class',
    displayName: '${__field.labels.class}',
    stack: true,
    bars: true,
    queries: [
      sql({
        format: 'time_series',
        columns: ['time', 'class', 'false_triggers'],
        sql: `
          SELECT $__timeInterval(at) AS time, toString(class) AS class, count() AS false_triggers
          FROM false_triggers
          WHERE $__timeFilter(at) AND ${journeyFilter()}
          GROUP BY time, class
          ORDER BY time`,
      }),
    ],
  })
  b.barchart({
    title: 'Count by class',
    description: 'Findings in the range, by class',
    xField: 'class',
    queries: [
      sql({
        format: 'table',
        columns: ['class', 'false_triggers'],
        sql: `
          SELECT toString(class) AS class, count() AS false_triggers
          FROM false_triggers
          WHERE $__timeFilter(at) AND ${journeyFilter()}
          GROUP BY class
          ORDER BY false_triggers DESC, class`,
      }),
    ],
  })
  b.table({
    title: 'By journey and class',
    description: 'Findings, users and the latest one, per journey and class',
    h: 8,
    queries: [
      sql({
        format: 'table',
        columns: ['journey', 'class', 'false_triggers', 'users', 'last_at'],
        sql: `
          SELECT toString(journey_id) AS journey, toString(class) AS class, count() AS false_triggers, uniqExact(user_key) AS users, max(at) AS last_at
          FROM false_triggers
          WHERE $__timeFilter(at) AND ${journeyFilter()}
          GROUP BY journey, class
          ORDER BY false_triggers DESC, journey, class`,
      }),
    ],
  })
}

function examplesRow(b: Board): void {
  b.row('Examples')
  b.table({
    title: 'Examples',
    description: 'The latest 100 findings with their evidence (JSON)',
    h: 12,
    queries: [
      sql({
        format: 'table',
        columns: ['at', 'journey', 'class', 'user_key', 'message_id', 'evidence'],
        sql: `
          SELECT at, toString(journey_id) AS journey, toString(class) AS class, user_key, message_id, evidence
          FROM false_triggers
          WHERE $__timeFilter(at) AND ${journeyFilter()}
          ORDER BY at DESC
          LIMIT 100`,
      }),
    ],
  })
}
