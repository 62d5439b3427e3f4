import type { ClickHouseClient } from '@clickhouse/client'
import { type Aggregates, EMPTY_AGGREGATES, type RawAggregates, buildAggregates } from './aggregates.js'
import { queryPairs, queryRankings } from './aggregateQueries.js'
import { BehaviorIndex, KIND_OF_EVENT } from './behaviorIndex.js'
import { loadBehavior } from './behaviorLoader.js'
import { CatalogSnapshot } from './catalog.js'
import { CatalogStore } from './catalogStore.js'
import { Recommender } from './recommender.js'
import { parseJsonObject } from '../../core/jsonText.js'
import { dateTimeParam } from '../../clickhouse/sqlBuilder.js'
import { selectRows } from '../../clickhouse/store.js'
import {
  BEHAVIOR_EVENTS,
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
 * stored events (`onStored`) keep the index and catalog current at once; `start()` refreshes on a
 * timer: every time the API's catalog and the rankings (trending, best sellers), every
 * `fullRefreshEveryMs` also the costly part — co-occurrence pairs and the products known from
 * events (which stored events keep current in between).
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
  /** How often a refresh also recomputes pairs and re-reads event-derived products. Default 10 min. */
  fullRefreshEveryMs?: number
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

/** A user's newest events of each kind read by `reloadUser`: lists keep 20, but orders are counted, so keep many. */
const RELOAD_LIMIT = 1000

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
  /** Users erased since the current load began. */
  private forgotten: string[] = []
  private pairs: Pick<RawAggregates, 'boughtTogether' | 'viewedTogether'> = { boughtTogether: [], viewedTogether: [] }
  private lastFullAt: number | undefined
  /** Refreshes run one after another. */
  private chain: Promise<unknown> = Promise.resolve()
  private timerBusy = false
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
    this.forgotten = []
    const buffered: NonNullable<typeof this.buffered> = []
    this.buffered = buffered
    try {
      const refreshMs = await this.refresh({ full: true })
      const started = performance.now()
      const loaded = await loadBehavior(this.client, this.now(), { days: this.opts.windowDays, pageSize: this.opts.pageSize })
      // Users erased while the load read the store: it may have read them.
      loaded.index.forget(this.forgotten)
      this.forgotten = []
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
      this.forgotten = []
    }
  }

  /**
   * Re-reads the catalog and recomputes the rankings — and the pairs and event-derived products
   * when `full` or due. Runs after any refresh under way; resolves to its duration in ms.
   */
  refresh(opts: { full?: boolean } = {}): Promise<number> {
    const run = this.chain.catch(() => {}).then(() => this.doRefresh(opts.full ?? false))
    this.chain = run
    return run
  }

  /** Refreshes every `intervalMs`, skipping a tick while one runs (the timer does not keep the process alive). */
  start(intervalMs = 60_000): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      if (this.timerBusy) return
      this.timerBusy = true
      this.refresh()
        .catch((err) => this.log('recommendations refresh failed', { err: String(err) }))
        .finally(() => {
          this.timerBusy = false
        })
    }, intervalMs)
    this.timer.unref()
  }

  /** Stops the timer and waits for a refresh under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.chain.catch(() => {})
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

  /**
   * One user's behaviour read again from the store, for a process that does not store events
   * itself (a worker): `onStored` never sees what the API processes store, so before a render
   * that reads recommendations or behaviour, the user's own history replaces what the index
   * holds. One query on the table's primary key (events are ordered by user first).
   */
  async reloadUser(userKey: string): Promise<void> {
    const rows = await selectRows<{ event: string; ts: number | string; properties: string }>(
      this.client,
      `SELECT event, toUnixTimestamp64Milli(timestamp) AS ts, properties FROM events
       WHERE user_key = {user:String} AND event IN {names:Array(String)} AND timestamp >= {since:DateTime64(3, 'UTC')}
       ORDER BY timestamp DESC LIMIT {limit:UInt32} BY event`,
      {
        user: userKey,
        names: [...BEHAVIOR_EVENTS],
        since: dateTimeParam(this.now() - (this.opts.windowDays ?? 90) * DAY_MS),
        limit: RELOAD_LIMIT,
      },
    )
    // Oldest first, as they were stored: the index keeps the newest at the front of each list.
    const events = rows
      .reverse()
      .map((r) => ({ userKey, event: r.event, timestamp: Number(r.ts), properties: parseJsonObject(r.properties) }))
    this.state.catalog.learn(events)
    this.changes?.push((c) => c.learn(events))
    this.state.index.replaceUser(userKey, events)
  }

  /**
   * After an erasure: the user's behaviour leaves the index (a load under way would bring it
   * back from what it read before the erasure, so buffered batches and the loaded index both lose it).
   */
  forgetUsers(userKeys: readonly string[]): void {
    this.state.index.forget(userKeys)
    const gone = new Set(userKeys)
    if (!this.buffered) return
    this.forgotten.push(...userKeys)
    for (const b of this.buffered) b.events = b.events.filter((e) => !gone.has(e.userKey))
  }

  /** Whether the behaviour index holds any of these users (the erasure test asks). */
  knowsUser(userKeys: readonly string[]): boolean {
    return userKeys.some((k) => this.state.index.user(k) !== undefined)
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
    if (!(BLOCKS as readonly string[]).includes(block))
      throw new Error(`unknown recommendation block "${block}" (one of ${BLOCKS.join(', ')})`)
    return this.recommender.recommend(userKey, block, opts, this.now())
  }

  behavior(userKey: string): BehaviorFlags {
    return this.recommender.behavior(userKey, this.now())
  }

  private async doRefresh(forceFull: boolean): Promise<number> {
    const started = performance.now()
    const now = this.now()
    const full = forceFull || this.lastFullAt === undefined || now - this.lastFullAt >= (this.opts.fullRefreshEveryMs ?? 600_000)
    const aggOpts = { windowDays: this.opts.windowDays, trendingDays: this.opts.trendingDays, partners: this.opts.partners }
    const changes: CatalogChange[] = []
    this.changes = changes
    try {
      const products = await this.catalog.snapshot({ fromEvents: full })
      const rankings = await queryRankings(this.client, now, aggOpts)
      if (full) this.pairs = await queryPairs(this.client, now, aggOpts)
      const catalog = new CatalogSnapshot(products)
      // Not re-read this time: the products known from events stay as stored events left them.
      if (!full) for (const p of this.state.catalog.all()) if (p.source === 'events' && !catalog.get(p.product_id)) catalog.put(p)
      for (const change of changes) change(catalog)
      this.state.catalog = catalog
      this.state.aggregates = buildAggregates({ ...this.pairs, ...rankings }, catalog, { partners: this.opts.partners })
      if (full) this.lastFullAt = now
      this.state.index.prune(now - (this.opts.windowDays ?? 90) * DAY_MS)
    } finally {
      if (this.changes === changes) this.changes = undefined
    }
    return Math.round(performance.now() - started)
  }
}
