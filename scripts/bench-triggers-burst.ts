/**
 * The burst row of `npm run bench:triggers`: BENCH_BURST (default 500) reminders due in the same
 * second. A journey waits until a wall-clock minute (a delay `until` a UTC window that opens at the
 * next minute boundary far enough ahead), then sends; its runs are all started before that instant,
 * so every one of them falls due at exactly the same millisecond. Measured: due → the message
 * received by the SMTP server (the capture mailbox stamps each message as it arrives), and how many
 * messages arrived twice (must be 0). Target: every message handed to SMTP within 2 s, p99. First,
 * on the same server and worker, the floor: as many empty workflows whose first task is due at one
 * instant (a start delay), due → completed; what no send path can beat on this machine.
 */
import { selectRows } from '../clickhouse/store.js'
import { check, fmt, greatest, percentile } from './bench/report.js'
import type { ClickHouseClient } from '@clickhouse/client'

export interface BurstBench {
  client: ClickHouseClient
  /** POSTs a body to Nudge; the HTTP status. */
  call(path: string, body: unknown, headers?: Record<string, string>): Promise<number>
  /** Creates and activates a journey. */
  journey(id: string, event: string, steps: unknown[]): Promise<void>
  /** The floor: an empty workflow whose first task is due at `due` (start delay); resolves when it completed. */
  emptyDueAt(due: number, i: number): Promise<void>
}

const TARGET_MS = 2000
/** Time to start every run before the due instant (identify + triggers + the router's starts). */
const LEAD_MS = 25_000

const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16)

/** The floor, same machine, same server: `size` empty workflows due at one instant → completed (ms after due). */
async function floorBurst(b: BurstBench, size: number): Promise<number[]> {
  const due = Date.now() + 10_000
  const done = await Promise.all(Array.from({ length: size }, (_, i) => b.emptyDueAt(due, i).then(() => Date.now() - due)))
  console.log(
    `${`floor: ${size} empty workflows due at one instant → completed`.padEnd(50)} p50 ${fmt(percentile(done, 0.5))} ms · p99 ${fmt(percentile(done, 0.99))} ms · max ${fmt(greatest(done))} ms`,
  )
  return done
}

export async function burstRow(b: BurstBench, size = Number(process.env.BENCH_BURST ?? 500)): Promise<void> {
  await floorBurst(b, size)
  const q = async (sql: string, params: Record<string, unknown> = {}) =>
    Number((await selectRows<{ n: string }>(b.client, sql, params))[0]!.n)
  const due = Math.ceil((Date.now() + LEAD_MS) / 60_000) * 60_000
  await b.journey('bench-burst', 'Bench Burst', [
    { id: 'wait', type: 'delay', until: { from: hhmm(due), to: hhmm(due + 60_000), timezone: 'UTC' } },
    { id: 'send', type: 'send', template: 'related-products' },
  ])
  const users = Array.from({ length: size }, (_, i) => `b-${i}`)
  for (let i = 0; i < size; i += 100) {
    const part = users.slice(i, i + 100)
    const identify = part.map((u) => ({ type: 'identify', userId: u, traits: { email: `${u}@bench.example` } }))
    if ((await b.call('/v1/batch', { batch: identify })) !== 200) throw new Error('identify batch refused')
  }
  for (let i = 0; i < size; i += 100) {
    const batch = users.slice(i, i + 100).map((u) => ({ type: 'track', userId: u, event: 'Bench Burst', properties: {} }))
    if ((await b.call('/v1/batch', { batch })) !== 200) throw new Error('trigger batch refused')
  }
  const startedSql = "SELECT count() AS n FROM journey_runs WHERE journey_id = 'bench-burst' AND phase = 'started'"
  while ((await q(startedSql)) < size && Date.now() < due) await new Promise((r) => setTimeout(r, 250))
  const startedBeforeDue = await q(startedSql)
  const mailSql = "SELECT uniqExact(message_id) AS n FROM mailbox WHERE startsWith(arrayElement(rcpt_to, 1), 'b-')"
  const end = due + 120_000
  while ((await q(mailSql)) < size && Date.now() < end) await new Promise((r) => setTimeout(r, 250))
  const rows = await selectRows<{ ms: number }>(
    b.client,
    `SELECT toUnixTimestamp64Milli(min(received_at)) - {due:Int64} AS ms FROM mailbox
     WHERE startsWith(arrayElement(rcpt_to, 1), 'b-') GROUP BY message_id`,
    { due },
  )
  const ms = rows.map((r) => Number(r.ms))
  const twice = await q("SELECT count() - uniqExact(message_id) AS n FROM mailbox WHERE startsWith(arrayElement(rcpt_to, 1), 'b-')")
  const usersTwice = await q(
    "SELECT count() - uniqExact(user_key) AS n FROM (SELECT DISTINCT user_key, message_id FROM send_ledger WHERE journey_id = 'bench-burst' AND status = 'sent')",
  )
  const p99 = percentile(ms, 0.99)
  console.log(
    `${`burst: ${size} due at one instant → handed to SMTP`.padEnd(50)} p50 ${fmt(percentile(ms, 0.5))} ms · p99 ${fmt(p99)} ms · max ${fmt(greatest(ms))} ms   (target p99 < ${fmt(TARGET_MS)} ms: ${check(ms.length === size && p99 < TARGET_MS)})`,
  )
  // Where the time goes: the timer fired (the run took its next step), the check passed (ledger `sending`), SMTP.
  const phases = await selectRows<{ fired: number; checked: number; smtp: number }>(
    b.client,
    `SELECT toUnixTimestamp64Milli(w.at) - {due:Int64} AS fired, toUnixTimestamp64Milli(l.sending) - toUnixTimestamp64Milli(w.at) AS checked,
            toUnixTimestamp64Milli(m.received) - toUnixTimestamp64Milli(l.sending) AS smtp
     FROM (SELECT workflow_id, min(at) AS at FROM journey_steps WHERE journey_id = 'bench-burst' AND step_id = 'wait' GROUP BY workflow_id) AS w
     INNER JOIN (SELECT workflow_id, any(message_id) AS message_id, minIf(at, status = 'sending') AS sending FROM send_ledger WHERE journey_id = 'bench-burst' GROUP BY workflow_id) AS l USING workflow_id
     INNER JOIN (SELECT message_id, min(received_at) AS received FROM mailbox GROUP BY message_id) AS m ON m.message_id = l.message_id`,
    { due },
  )
  const labels = { fired: 'due → timer fired', checked: 'fired → checked (ledger sending)', smtp: 'checked → received by SMTP' }
  for (const k of ['fired', 'checked', 'smtp'] as const) {
    const v = phases.map((p) => Number(p[k]))
    console.log(
      `  ${`burst: ${labels[k]}`.padEnd(48)} p50 ${fmt(percentile(v, 0.5))} ms · p99 ${fmt(percentile(v, 0.99))} ms · max ${fmt(greatest(v))} ms`,
    )
  }
  console.log(
    `  burst correctness: ${startedBeforeDue} of ${size} runs started before the due instant; ${ms.length} of ${size} messages received; ${twice} received twice; ${usersTwice} users sent twice`,
  )
}
