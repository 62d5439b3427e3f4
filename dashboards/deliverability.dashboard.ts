import { Board } from './panels.js'
import { sql } from './queries.js'
import { journeyFilter } from './sql.js'
import { journeyVariable } from './variables.js'

/**
 * Deliverability and engagement from `message_events` (test sends excluded). Opens and clicks are
 * people's only (`machine = 0`): privacy-proxy prefetches and link scanners are kept, flagged
 * and shown separately. Counts are distinct messages (a message opened five times is one open).
 * Rates are per message sent in the same range (send_ledger, status 'sent'): events in the range
 * over sends in the range — close to per-send rates when the range is much longer than the
 * time from send to open.
 */
const EVENTS = `$__timeFilter(at) AND is_test = 0 AND ${journeyFilter()}`
const SENT = `(SELECT uniqExact(message_id) FROM send_ledger WHERE $__timeFilter(at) AND status = 'sent' AND is_test = 0 AND ${journeyFilter()})`
const human = (event: string) => `uniqExactIf(message_id, event = '${event}' AND machine = 0)`
const machine = (event: string) => `uniqExactIf(message_id, event = '${event}' AND machine = 1)`
const any = (event: string) => `uniqExactIf(message_id, event = '${event}')`

export function deliverabilityDashboard(): Board {
  const b = new Board({
    uid: 'nudge-deliverability',
    title: 'Nudge · Deliverability',
    description: 'Opens (machine opens apart), clicks, unsubscribes, bounces and complaints, and their rates per message sent',
    tags: ['email'],
    from: 'now-7d',
  })
  b.variable(journeyVariable())

  ratesRow(b)
  engagementOverTimeRow(b)
  byJourneyRow(b)
  return b
}

function ratesRow(b: Board): void {
  b.row('Rates per sent')
  b.stat({
    title: 'Sent',
    description: 'Messages sent in the range',
    queries: [
      sql({
        format: 'table',
        columns: ['sent'],
        sql: `SELECT uniqExact(message_id) AS sent FROM send_ledger WHERE $__timeFilter(at) AND status = 'sent' AND is_test = 0 AND ${journeyFilter()}`,
      }),
    ],
    w: 4,
  })
  b.stat({
    title: 'Engagement rates',
    description: 'Distinct messages with the event ÷ messages sent. Opens and clicks exclude machine opens and scanner clicks',
    unit: 'percentunit',
    decimals: 2,
    w: 12,
    queries: [
      sql({
        format: 'table',
        columns: ['open_rate', 'click_rate', 'unsubscribe_rate'],
        sql: `
          SELECT ${human('open')} / nullIf(${SENT}, 0) AS open_rate,
                 ${human('click')} / nullIf(${SENT}, 0) AS click_rate,
                 ${any('unsubscribe')} / nullIf(${SENT}, 0) AS unsubscribe_rate
          FROM message_events
          WHERE ${EVENTS}`,
      }),
    ],
  })
  b.stat({
    title: 'Bounce and complaint rates',
    description: 'Bounced (hard or soft) and complained messages ÷ messages sent',
    unit: 'percentunit',
    decimals: 2,
    w: 8,
    thresholds: {
      base: 'green',
      steps: [
        [0.02, 'orange'],
        [0.05, 'red'],
      ],
    },
    queries: [
      sql({
        format: 'table',
        columns: ['bounce_rate', 'complaint_rate'],
        sql: `
          SELECT ${any('bounce')} / nullIf(${SENT}, 0) AS bounce_rate,
                 ${any('complaint')} / nullIf(${SENT}, 0) AS complaint_rate
          FROM message_events
          WHERE ${EVENTS}`,
      }),
    ],
  })
}

function engagementOverTimeRow(b: Board): void {
  b.row('Engagement over time')
  peopleAndMachinesOverTime(b, {
    title: 'Opens: people and machines',
    description: 'Distinct messages opened by people (machine = 0), and by machines (privacy proxies, prefetch: machine = 1)',
    event: 'open',
    columns: ['opens', 'machine_opens'],
  })
  peopleAndMachinesOverTime(b, {
    title: 'Clicks',
    description: 'Distinct messages clicked by people, and by link scanners (machine = 1)',
    event: 'click',
    columns: ['clicks', 'scanner_clicks'],
  })
  b.timeseries({
    title: 'Bounces by type',
    description: 'Bounced messages, hard and soft',
    displayName: '${__field.labels.bounce_type}',
    stack: true,
    bars: true,
    queries: [
      sql({
        format: 'time_series',
        columns: ['time', 'bounce_type', 'bounces'],
        sql: `
          SELECT $__timeInterval(at) AS time, if(bounce_type = '', 'unknown', toString(bounce_type)) AS bounce_type, uniqExact(message_id) AS bounces
          FROM message_events
          WHERE ${EVENTS} AND event = 'bounce'
          GROUP BY time, bounce_type
          ORDER BY time`,
      }),
    ],
  })
  b.timeseries({
    title: 'Unsubscribes and complaints',
    description: 'Messages unsubscribed from (link or RFC 8058 one-click) and complained about',
    queries: [
      sql({
        format: 'time_series',
        columns: ['time', 'unsubscribes', 'complaints'],
        sql: `
          SELECT $__timeInterval(at) AS time, ${any('unsubscribe')} AS unsubscribes, ${any('complaint')} AS complaints
          FROM message_events
          WHERE ${EVENTS} AND event IN ('unsubscribe', 'complaint')
          GROUP BY time
          ORDER BY time`,
      }),
    ],
  })
}

function byJourneyRow(b: Board): void {
  b.row('By journey')
  b.table({
    title: 'Per journey',
    description:
      'Messages sent in the range per journey and, per message sent, opens and clicks (people), unsubscribes, bounces, complaints',
    w: 16,
    queries: [
      sql({
        format: 'table',
        columns: ['journey', 'sent', 'open_rate', 'click_rate', 'unsubscribe_rate', 'bounce_rate', 'complaint_rate', 'machine_opens'],
        sql: `
          SELECT journey, sum(s) AS sent,
                 round(sum(o) / nullIf(sent, 0), 4) AS open_rate,
                 round(sum(c) / nullIf(sent, 0), 4) AS click_rate,
                 round(sum(u) / nullIf(sent, 0), 4) AS unsubscribe_rate,
                 round(sum(bo) / nullIf(sent, 0), 4) AS bounce_rate,
                 round(sum(co) / nullIf(sent, 0), 4) AS complaint_rate,
                 sum(mo) AS machine_opens
          FROM (
            SELECT toString(journey_id) AS journey, uniqExact(message_id) AS s, 0 AS o, 0 AS c, 0 AS u, 0 AS bo, 0 AS co, 0 AS mo
            FROM send_ledger
            WHERE $__timeFilter(at) AND status = 'sent' AND is_test = 0 AND ${journeyFilter()}
            GROUP BY journey
            UNION ALL
            SELECT toString(journey_id), 0, ${human('open')}, ${human('click')}, ${any('unsubscribe')}, ${any('bounce')}, ${any('complaint')},
                   ${machine('open')}
            FROM message_events
            WHERE ${EVENTS}
            GROUP BY journey_id
          )
          GROUP BY journey
          ORDER BY sent DESC, journey`,
      }),
    ],
  })
  b.barchart({
    title: 'Machine opens by reason',
    description: 'Opens flagged as machine opens, by why (privacy proxy, prefetch, too soon after send…)',
    xField: 'reason',
    w: 8,
    queries: [
      sql({
        format: 'table',
        columns: ['reason', 'opens'],
        sql: `
          SELECT if(machine_reason = '', 'unknown', toString(machine_reason)) AS reason, uniqExact(message_id) AS opens
          FROM message_events
          WHERE ${EVENTS} AND event = 'open' AND machine = 1
          GROUP BY reason
          ORDER BY opens DESC, reason`,
      }),
    ],
  })
}

/** One event over time as two series: the messages people engaged with, and those machines did. */
function peopleAndMachinesOverTime(b: Board, o: { title: string; description: string; event: string; columns: [string, string] }): void {
  const [people, machines] = o.columns
  b.timeseries({
    title: o.title,
    description: o.description,
    queries: [
      sql({
        format: 'time_series',
        columns: ['time', people, machines],
        sql: `
          SELECT $__timeInterval(at) AS time, ${human(o.event)} AS ${people}, ${machine(o.event)} AS ${machines}
          FROM message_events
          WHERE ${EVENTS} AND event = '${o.event}'
          GROUP BY time
          ORDER BY time`,
      }),
    ],
  })
}
