import type { IngestEvent } from '../../ingest/types.js'

/** Segment's e-commerce spec names: the three events recommendations learn from. */
export const PRODUCT_VIEWED = 'Product Viewed'
export const PRODUCT_ADDED = 'Product Added'
export const ORDER_COMPLETED = 'Order Completed'
export const BEHAVIOR_EVENTS = [PRODUCT_VIEWED, PRODUCT_ADDED, ORDER_COMPLETED] as const

export const DAY_MS = 86_400_000

/** What the index needs of a stored event: an `IngestEvent` is one. */
export type BehaviorEvent = Pick<IngestEvent, 'userKey' | 'event' | 'timestamp' | 'properties'>

/** A product as templates see it (snake_case, like the event properties it often comes from). */
export interface Product {
  /** The same as `product_id`: the render context's product shape reads `id`. */
  id: string
  product_id: string
  name: string
  category: string
  price: number
  currency: string
  image_url: string
  url: string
  attributes: Record<string, unknown>
  in_stock: boolean
  /** `catalog`: written by the catalog API (always wins); `events`: known only from event properties. */
  source: 'catalog' | 'events'
  /** Epoch ms: the API write, or the latest event that named the product. */
  updated_at: number
}

/** What the catalog API writes; everything but the id is optional. */
export interface ProductInput {
  product_id: string
  name?: string
  category?: string
  price?: number
  currency?: string
  image_url?: string
  url?: string
  attributes?: Record<string, unknown>
  in_stock?: boolean
  updated_at?: number
}

export const BLOCKS = ['recently_viewed', 'bought_together', 'viewed_together', 'trending_in_category', 'similar'] as const
export type BlockName = (typeof BLOCKS)[number]

/** Why a product is in a block: the block itself, or the fallback that filled it. */
export type Reason = BlockName | 'trending' | 'best_sellers' | 'catalog'

export type RecommendedProduct = Product & { reason: Reason }

export interface RecommendOptions {
  /** Default 4, at most 100. */
  limit?: number
  /** Recommend around this product (the trigger event's) instead of the user's history. */
  productId?: string
}

/**
 * Behaviour flags for templates (`{% if behavior.abandoned_cart %}`). Unknowns are null, not
 * missing: templates render with strict variables, where a missing name is an error.
 */
export interface BehaviorFlags {
  abandoned_cart: boolean
  viewed_categories: string[]
  favourite_category: string | null
  most_viewed_product: { id: string; views: number } | null
  days_since_purchase: number | null
  purchases: number
}
