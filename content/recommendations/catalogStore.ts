import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'
import { dateTimeParam } from '../../clickhouse/sqlBuilder.js'
import { sightingsSql } from './productSql.js'
import { DAY_MS, ORDER_COMPLETED, PRODUCT_ADDED, PRODUCT_VIEWED, type Product, type ProductInput } from './types.js'

/**
 * The `products` table (migration 008) merged with products known only from events. The catalog
 * API writes whole records (an upsert replaces the product; omitted fields take their defaults);
 * a product never written is read from its events of the last `windowDays` (latest non-empty
 * value of each field) — once the API writes it, the API's record is all that is read.
 */
export interface CatalogStoreOptions {
  /** How far back events make products known. Default 90 days. */
  windowDays?: number
  now?: () => number
}

/** A row of the read below: the product's plain fields as they are, the rest as ClickHouse sends them. */
type ProductRow = Pick<Product, 'product_id' | 'name' | 'category' | 'price' | 'currency' | 'image_url' | 'url'> & {
  attributes: string
  in_stock: number
  at_ms: number | string
  src: 'catalog' | 'events'
}

export class CatalogStore {
  private readonly windowDays: number
  private readonly now: () => number

  constructor(
    private readonly client: ClickHouseClient,
    opts: CatalogStoreOptions = {},
  ) {
    this.windowDays = opts.windowDays ?? 90
    this.now = opts.now ?? Date.now
  }

  /** Writes the products as given (each replaces its earlier record) and returns them as stored. */
  async upsert(products: readonly ProductInput[]): Promise<Product[]> {
    const at = this.now()
    const stored = products.map((p) => normalize(p, at))
    if (!stored.length) return stored
    await this.client.insert({
      table: 'products',
      format: 'JSONEachRow',
      values: stored.map((p) => ({
        product_id: p.product_id,
        name: p.name,
        category: p.category,
        price: p.price,
        currency: p.currency,
        image_url: p.image_url,
        url: p.url,
        attributes: JSON.stringify(p.attributes),
        in_stock: p.in_stock ? 1 : 0,
        updated_at: p.updated_at,
      })),
    })
    return stored
  }

  /** These products, in the order asked (unknown ids are left out). */
  async get(ids: readonly string[]): Promise<Product[]> {
    if (!ids.length) return []
    const found = new Map((await this.read({ ids: [...new Set(ids)] })).map((p) => [p.product_id, p]))
    return ids.flatMap((id) => found.get(id) ?? [])
  }

  /** Products by id, optionally of one category. */
  list(opts: { category?: string; limit?: number } = {}): Promise<Product[]> {
    return this.read({ category: opts.category, limit: opts.limit ?? 100 })
  }

  /**
   * Every product: the recommendations' in-memory catalog. `fromEvents: false` reads the API's
   * products only (one small table, not the events of the window).
   */
  snapshot(opts: { fromEvents?: boolean } = {}): Promise<Product[]> {
    return this.read({ apiOnly: opts.fromEvents === false })
  }

  private async read(f: { ids?: string[]; category?: string; limit?: number; apiOnly?: boolean }): Promise<Product[]> {
    const params: Record<string, unknown> = {
      since: dateTimeParam(this.now() - this.windowDays * DAY_MS),
      names: [PRODUCT_VIEWED, PRODUCT_ADDED, ORDER_COMPLETED],
      purchase: ORDER_COMPLETED,
    }
    const catalogWhere: string[] = []
    const eventsWhere = ["pid != ''", 'pid NOT IN (SELECT product_id FROM products)']
    if (f.ids) {
      params.ids = f.ids
      catalogWhere.push('product_id IN {ids:Array(String)}')
      eventsWhere.push('pid IN {ids:Array(String)}')
    }
    const outer: string[] = []
    if (f.category !== undefined) {
      params.category = f.category
      outer.push('category = {category:String}')
    }
    if (f.limit !== undefined) params.limit = f.limit
    const latest = (col: string, nonEmpty: string) => `argMaxIf(${col}, ts, ${nonEmpty})`
    const sql = `
      SELECT * FROM (
        SELECT product_id, name, toString(category) AS category, price, toString(currency) AS currency, image_url, url, attributes, in_stock,
               toUnixTimestamp64Milli(updated_at) AS at_ms, 'catalog' AS src
        FROM products FINAL ${catalogWhere.length ? `WHERE ${catalogWhere.join(' AND ')}` : ''}
        ${
          f.apiOnly
            ? ''
            : `UNION ALL
        SELECT pid, ${latest('p_name', "p_name != ''")}, ${latest('p_category', "p_category != ''")}, ${latest('p_price', 'NOT isNaN(p_price)')},
               ${latest('p_currency', "p_currency != ''")}, ${latest('p_image', "p_image != ''")}, ${latest('p_url', "p_url != ''")},
               if(${latest('p_brand', "p_brand != ''")} = '', '{}', toJSONString(map('brand', ${latest('p_brand', "p_brand != ''")}))),
               toUInt8(1), toUnixTimestamp64Milli(max(ts)), 'events'
        FROM (${sightingsSql("event IN {names:Array(String)} AND timestamp >= {since:DateTime64(3, 'UTC')}", '{purchase:String}')})
        WHERE ${eventsWhere.join(' AND ')}
        GROUP BY pid`
        }
      ) ${outer.length ? `WHERE ${outer.join(' AND ')}` : ''}
      ORDER BY product_id ${f.limit !== undefined ? 'LIMIT {limit:UInt32}' : ''}`
    return (await selectRows<ProductRow>(this.client, sql, params)).map(fromRow)
  }
}

function fromRow(r: ProductRow): Product {
  let attributes: Record<string, unknown> = {}
  try {
    const parsed: unknown = JSON.parse(r.attributes || '{}')
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) attributes = parsed as Record<string, unknown>
  } catch {
    // A malformed attributes text is not worth failing a read over.
  }
  return {
    id: r.product_id,
    product_id: r.product_id,
    name: r.name,
    category: r.category,
    price: Number(r.price),
    currency: r.currency,
    image_url: r.image_url,
    url: r.url,
    attributes,
    in_stock: Number(r.in_stock) === 1,
    source: r.src,
    updated_at: Number(r.at_ms),
  }
}

/** An API product as stored: defaults for what was left out. */
export function normalize(p: ProductInput, now: number): Product {
  if (typeof p.product_id !== 'string' || !p.product_id) throw new Error('product_id is required')
  const price = p.price ?? 0
  if (!Number.isFinite(price) || price < 0) throw new Error(`product ${p.product_id}: price must be a finite number ≥ 0`)
  return {
    id: p.product_id,
    product_id: p.product_id,
    name: p.name ?? '',
    category: p.category ?? '',
    price,
    currency: p.currency ?? '',
    image_url: p.image_url ?? '',
    url: p.url ?? '',
    attributes: p.attributes ?? {},
    in_stock: p.in_stock ?? true,
    source: 'catalog',
    updated_at: p.updated_at ?? now,
  }
}
