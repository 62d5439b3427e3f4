import type { ClickHouseClient } from '@clickhouse/client'
import type { IngestEvent } from '../ingest/types.js'
import { selectRows } from '../clickhouse/store.js'
import { parseJsonObject } from '../core/jsonText.js'
import { pushTo } from '../core/multimap.js'
import type { TriggerRouter } from './triggerRouter.js'

/**
 * How far the trigger router has routed stored batches (`ingest_seq`), kept in
 * `journey_router_progress`: saved every second, and on start the batches stored after it are
 * routed again — a crash between the store's acknowledgement and Temporal's costs no trigger.
 */
export class RoutingProgress {
  private saved = -1
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly client: ClickHouseClient,
    private readonly router: TriggerRouter,
    private readonly log: (msg: string, extra?: Record<string, unknown>) => void,
  ) {}

  start(intervalMs = 1000): void {
    this.timer = setInterval(
      () => void this.save().catch((err) => this.log('routing progress not saved', { err: String(err) })),
      intervalMs,
    )
    this.timer.unref()
  }

  /** Saves the last progress (call once the router is idle). */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.save().catch(() => undefined)
  }

  async save(): Promise<void> {
    const seq = this.router.routedSeq
    if (seq <= this.saved) return
    await this.client.insert({ table: 'journey_router_progress', format: 'JSONEachRow', values: [{ seq, at: Date.now() }] })
    this.saved = seq
  }

  /**
   * After a restart, routes again what was stored but not fully routed before it. Triggers whose
   * runs already recorded their start are not started twice; signals are harmless twice (runs
   * ignore messages they have seen). `storedSeq`: where a store with no progress yet starts.
   */
  async resume(storedSeq: number): Promise<void> {
    const [p] = await selectRows<{ s: number | string; n: number | string }>(
      this.client,
      'SELECT max(seq) AS s, count() AS n FROM journey_router_progress',
    )
    if (!Number(p?.n)) {
      // A new store (or one from before routing was tracked): nothing earlier is replayed.
      this.router.resumeFrom(storedSeq)
      await this.save()
      return
    }
    const from = Number(p!.s)
    this.router.resumeFrom(from)
    const rows = await selectRows<{
      message_id: string
      type: string
      event: string
      user_key: string
      properties: string
      context: string
      ts: string
      received: string
      seq: string
    }>(
      this.client,
      `SELECT message_id, type, event, user_key, properties, context, toUnixTimestamp64Milli(timestamp) AS ts, toUnixTimestamp64Milli(received_at) AS received, ingest_seq AS seq
       FROM events WHERE ingest_seq > {from:UInt64} ORDER BY ingest_seq, timestamp LIMIT 200000`,
      { from },
    )
    if (!rows.length) return
    const started = new Set(
      (
        await selectRows<{ id: string }>(
          this.client,
          'SELECT DISTINCT trigger_message_id AS id FROM journey_runs WHERE trigger_message_id IN {ids:Array(String)}',
          { ids: rows.map((r) => r.message_id) },
        )
      ).map((r) => r.id),
    )
    // Only what routing reads of an event: the row has no more.
    const bySeq = new Map<number, IngestEvent[]>()
    for (const r of rows)
      pushTo(bySeq, Number(r.seq), {
        messageId: r.message_id,
        type: r.type,
        event: r.event,
        userKey: r.user_key,
        properties: parseJsonObject(r.properties),
        context: parseJsonObject(r.context),
        timestamp: Number(r.ts),
        receivedAt: Number(r.received),
      } as unknown as IngestEvent)
    for (const [seq, events] of bySeq) this.router.handleStored(events, [], seq, started)
    this.log('journey routing resumed after a restart', { batches: bySeq.size, events: rows.length, alreadyStarted: started.size })
  }
}
