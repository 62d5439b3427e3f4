import { z } from 'zod'
import type { IngestEvent } from '../../ingest/types.js'

/** Segment's e-commerce spec names: the three events recommendations learn from. */
export const PRODUCT_VIEWED = 'Product Viewed'
export const PRODUCT_ADDED = 'Product Added'
export const ORDER_COMPLETED = 'Order Completed'
export const BEHAVIOR_EVENTS = [PRODUCT_VIEWED, PRODUCT_ADDED, ORDER_COMPLETED] as const

export const DAY_MS = 86_400_000

/** What the index needs of a stored event: an `IngestEvent` is one. */
export type BehaviorEvent = Pick<IngestEvent, 'userKey' | 'event' | 'timestamp' | 'properties'>

/** What the catalog API writes; everything but the id is optional. */
export const productInput = z
  .object({
    product_id: z.string().min(1).max(256),
    name: z.string().max(500).optional(),
    category: z.string().max(200).optional(),
    price: z.number().finite().nonnegative().optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like EUR')
      .optional(),
    image_url: z.url({ protocol: /^https?$/ }).optional(),
    url: z.url({ protocol: /^https?$/ }).optional(),
    attributes: z.record(z.string(), z.unknown()).optional(),
    in_stock: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'ProductInput' })
/** The API's input; writers inside Nudge (events) may also date it. */
export type ProductInput = z.infer<typeof productInput> & { updated_at?: number }

/** A product as templates see it (snake_case, like the event properties it often comes from). */
export const product = z
  .object({
    /** The same as `product_id`: the render context's product shape reads `id`. */
    id: z.string(),
    product_id: z.string(),
    name: z.string(),
    category: z.string(),
    price: z.number(),
    currency: z.string(),
    image_url: z.string(),
    url: z.string(),
    attributes: z.record(z.string(), z.unknown()).describe('Free-form: whatever the catalog sent'),
    in_stock: z.boolean(),
    /** `catalog`: written by the catalog API (always wins); `events`: known only from event properties. */
    source: z.enum(['catalog', 'events']),
    /** Epoch ms: the API write, or the latest event that named the product. */
    updated_at: z.number(),
  })
  .meta({ id: 'Product' })
export type Product = z.infer<typeof product>

/** A product named by a trigger event: its id, and whichever template fields the event carried. */
export type TriggerProduct = Pick<Product, 'id'> & Partial<Pick<Product, 'name' | 'category' | 'price' | 'currency' | 'image_url' | 'url'>>

export const BLOCKS = ['recently_viewed', 'bought_together', 'viewed_together', 'trending_in_category', 'similar'] as const
export type BlockName = (typeof BLOCKS)[number]

/** Why a product is in a block: the block itself, or the fallback that filled it. */
export const REASONS = [...BLOCKS, 'trending', 'best_sellers', 'catalog'] as const
export type Reason = (typeof REASONS)[number]

export const recommendedProduct = product.extend({ reason: z.enum(REASONS) }).meta({ id: 'RecommendedProduct' })
export type RecommendedProduct = z.infer<typeof recommendedProduct>

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
export const behaviorFlags = z
  .object({
    abandoned_cart: z.boolean(),
    viewed_categories: z.array(z.string()),
    favourite_category: z.string().nullable(),
    most_viewed_product: z.object({ id: z.string(), views: z.number() }).nullable(),
    days_since_purchase: z.number().nullable(),
    purchases: z.number(),
  })
  .meta({ id: 'BehaviorFlags' })
export type BehaviorFlags = z.infer<typeof behaviorFlags>

/** The flags of a user Nudge knows nothing about (a fresh object each time: callers may keep it). */
export function noBehavior(): BehaviorFlags {
  return {
    abandoned_cart: false,
    viewed_categories: [],
    favourite_category: null,
    most_viewed_product: null,
    days_since_purchase: null,
    purchases: 0,
  }
}
