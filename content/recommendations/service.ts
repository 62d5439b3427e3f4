import type { ClickHouseClient } from '@clickhouse/client'
import { type Aggregates, EMPTY_AGGREGATES, buildAggregates } from './aggregates.js'
import { refreshAggregates } from './aggregateQueries.js'
import { BehaviorIndex, KIND_OF_EVENT } from './behaviorIndex.js'
import { loadBehavior } from './behaviorLoader.js'
import { CatalogSnapshot } from './catalog.js'
import { CatalogStore } from './catalogStore.js'
import { Recommender } from './recommender.js'
import {
  BLOCKS,
  type BehaviorEvent,
  type BehaviorFlags,
  type BlockName,
  DAY_MS,
  type Product,
  type ProductInput,
  type RecommendOptions,
  type RecommendedProduct,
} from './types.js'

/**
 * Recommendations for renders: everything a block needs is in memory (the behaviour index, the
 * last aggregates, the catalog), so `forUser` and `behavior` never query. `load()` once at start;
 * stored events (`onStored`) keep the index and catalog current at once; `start()` refreshes the
 * store-wide aggregates and the catalog on a timer.
 */
export interface RecommendationServiceOptions {
  client: ClickHouseClient
  now?: () => number
  log?: (msg: string, extra?: Record<string, unknown>) => void
  /** History loaded into the index, co-occurrence and best-seller window. Default 90 days. */
  windowDays?: number
  /** Default 7 days. */
  trendingDays?: number
  /** Partners kept per product. Default 10. */
  partners?: number
  /** Recently bought products are not recommended for this long. Default 30 days. */
  recentPurchaseDays?: number
  /** Rows per page of the index load. Default 100 000. */
  pageSize?: number
}

export interface LoadStats {
  events: number
  users: number
  products: number
  /** The index load (behaviour history). */
  loadMs: number
  /** Catalog snapshot and aggregates. */
  refreshMs: number
}

/** Changes made to the live catalog while a refresh reads a new one: replayed onto it. */
type CatalogChange = (c: CatalogSnapshot) => void

export class RecommendationService {
  readonly catalog: CatalogStore
  private readonly client: ClickHouseClient
  private readonly now: () => number
  private readonly log: NonNullable<RecommendationServiceOptions['log']>
  private readonly opts: RecommendationServiceOptions
  /** What the recommender reads; fields are swapped whole by load and refresh. */
  private readonly state: { index: BehaviorIndex; aggregates: Aggregates; catalog: CatalogSnapshot }
  private readonly recommender: Recommender
  /** While a load runs: stored events, applied once the loaded index is in place. */
  private buffered: { events: readonly BehaviorEvent[]; seq?: number }[] | undefined
  /** The last write batch the loaded index read; later `onStored` batches are new. */
  private loadedSeq = -1
  private changes: CatalogChange[] | undefined
  private refreshing: Promise<number> | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(opts: RecommendationServiceOptions) {
    this.opts = opts
    this.client = opts.client
    this.now = opts.now ?? Date.now
    this.log = opts.log ?? (() => {})
    this.catalog = new CatalogStore(opts.client, { windowDays: opts.windowDays, now: this.now })
    this.state = { index: new BehaviorIndex(), aggregates: EMPTY_AGGREGATES, catalog: new CatalogSnapshot() }
    this.recommender = new Recommender(this.state, { recentPurchaseDays: opts.recentPurchaseDays })
  }

  /** Catalog and aggregates, then the behaviour history; stored events meanwhile are not lost. */
  async load(): Promise<LoadStats> {
    const buffered: NonNullable<typeof this.buffered> = []
    this.buffered = buffered
    try {
      const refreshMs = await this.refresh()
      const started = performance.now()
      const loaded = await loadBehavior(this.client, this.now(), { days: this.opts.windowDays, pageSize: this.opts.pageSize })
      this.state.index = loaded.index
      this.loadedSeq = loaded.maxSeq
      this.buffered = undefined
      for (const b of buffered) if (b.seq === undefined || b.seq > loaded.maxSeq) loaded.index.apply(b.events)
      const stats = {
        events: loaded.events,
        users: loaded.index.size,
        products: this.state.catalog.size,
        loadMs: Math.round(performance.now() - started),
        refreshMs,
      }
      this.log('recommendations loaded', { ...stats })
      return stats
    } finally {
      if (this.buffered === buffered) this.buffered = undefined
    }
  }

  /** Re-reads the catalog and recomputes the aggregates (one at a time); resolves to its duration in ms. */
  refresh(): Promise<number> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined
    })
    return this.refreshing
  }

  /** Refreshes every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs = 60_000): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      this.refresh().catch((err) => this.log('recommendations refresh failed', { err: String(err) }))
    }, intervalMs)
    this.timer.unref()
  }

  /** Stops the timer and waits for a refresh under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.refreshing?.catch(() => {})
  }

  /** A stored batch (the writer's `onStored`: its events and `rows.seq`): reflected at once. */
  onStored(events: readonly BehaviorEvent[], seq?: number): void {
    if (seq !== undefined && seq <= this.loadedSeq) return // already in what the load read
    const relevant = events.filter((e) => KIND_OF_EVENT[e.event] !== undefined)
    if (!relevant.length) return
    this.state.catalog.learn(relevant)
    this.changes?.push((c) => c.learn(relevant))
    if (this.buffered) this.buffered.push({ events: relevant, seq })
    else this.state.index.apply(relevant)
  }

  /** Writes products through the catalog API path; recommendations see them at once. */
  async upsertProducts(products: readonly ProductInput[]): Promise<Product[]> {
    const stored = await this.catalog.upsert(products)
    const put: CatalogChange = (c) => stored.forEach((p) => c.put(p))
    put(this.state.catalog)
    this.changes?.push(put)
    return stored
  }

  forUser(userKey: string, block: BlockName, opts: RecommendOptions = {}): RecommendedProduct[] {
    if (!(BLOCKS as readonly string[]).includes(block)) throw new Error(`unknown recommendation block "${block}" (one of ${BLOCKS.join(', ')})`)
    return this.recommender.recommend(userKey, block, opts, this.now())
  }

  behavior(userKey: string): BehaviorFlags {
    return this.recommender.behavior(userKey, this.now())
  }

  private async doRefresh(): Promise<number> {
    const started = performance.now()
    const now = this.now()
    const changes: CatalogChange[] = []
    this.changes = changes
    try {
      const products = await this.catalog.snapshot()
      const raw = await refreshAggregates(this.client, now, {
        windowDays: this.opts.windowDays,
        trendingDays: this.opts.trendingDays,
        partners: this.opts.partners,
      })
      const catalog = new CatalogSnapshot(products)
      for (const change of changes) change(catalog)
      this.state.catalog = catalog
      this.state.aggregates = buildAggregates(raw, catalog, { partners: this.opts.partners })
      this.state.index.prune(now - (this.opts.windowDays ?? 90) * DAY_MS)
    } finally {
      if (this.changes === changes) this.changes = undefined
    }
    return Math.round(performance.now() - started)
  }
}
