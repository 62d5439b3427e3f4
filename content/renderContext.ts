import { BLOCKS, type BehaviorFlags, type BlockName, noBehavior, type TriggerProduct } from './recommendations/types.js'

/** The product shape templates see; recommended products are a superset of it. */
export type Product = TriggerProduct

/**
 * What a template sees — the same shape for a send and a preview. Every name a built-in template
 * reads is always present (null or empty when unknown), so strict variables only catch typos.
 * Recommendation blocks are lazy: a block is looked up only if the template reads it.
 */
// Behavioral flags and recommendation blocks are the recommendation module’s (one definition).
export type Behavior = BehaviorFlags
export const RECOMMENDATION_BLOCKS = BLOCKS
export type RecommendationBlock = BlockName

export interface ContextInput {
  userKey: string
  email?: string
  traits: Record<string, unknown>
  computed?: Record<string, unknown>
  trigger: { event: string; properties: Record<string, unknown>; timestamp: number }
  journey?: { id: string; step: string }
  experiment?: { key?: string; variant?: string }
  message: { id: string; discountCode: string }
  urls: { unsubscribe: string; preferences: string; view_in_browser: string }
  recommend?: (block: RecommendationBlock, productId?: string) => Product[]
  behavior?: Behavior
  brand?: string
  shopUrl?: string
  offerPercent?: number
}

export const EMPTY_BEHAVIOR: Behavior = noBehavior()

export function buildRenderContext(c: ContextInput): Record<string, unknown> {
  const products = triggerProducts(c.trigger.properties)
  const anchor = products[0]?.id
  const recommendations: Record<string, Product[]> = {}
  for (const block of RECOMMENDATION_BLOCKS) {
    let value: Product[] | undefined
    // Own, enumerable getters: the sandbox reads own properties only, and each block costs a lookup.
    Object.defineProperty(recommendations, block, {
      enumerable: true,
      get: () => (value ??= c.recommend ? c.recommend(block, anchor) : []),
    })
  }
  const traits = c.traits
  return {
    user: {
      id: c.userKey,
      email: c.email ?? null,
      first_name: null,
      last_name: null,
      name: null,
      city: null,
      country: null,
      loyalty_tier: null,
      ...traits,
    },
    locale: typeof traits.locale === 'string' ? traits.locale : 'en-US',
    currency:
      typeof traits.currency === 'string'
        ? traits.currency
        : typeof c.trigger.properties.currency === 'string'
          ? c.trigger.properties.currency
          : 'USD',
    computed: { rfm_tier: null, ltv: null, favourite_category: null, ...(c.computed ?? {}) },
    event: { name: c.trigger.event, properties: c.trigger.properties, timestamp: new Date(c.trigger.timestamp).toISOString(), products },
    journey: { id: c.journey?.id ?? null, step: c.journey?.step ?? null },
    experiment: { key: c.experiment?.key ?? null, variant: c.experiment?.variant ?? null },
    message: { id: c.message.id, discount_code: c.message.discountCode },
    urls: c.urls,
    recommendations,
    behavior: c.behavior ?? EMPTY_BEHAVIOR,
    brand: c.brand ?? 'Nudge Store',
    shop_url: c.shopUrl ?? 'https://shop.example.com',
    offer: { percent: c.offerPercent ?? 10 },
  }
}

/** The trigger's products: a Segment `products` array, or the event's own product fields. */
export function triggerProducts(p: Record<string, unknown>): Product[] {
  const list = Array.isArray(p.products)
    ? (p.products as Record<string, unknown>[])
    : p.product_id !== undefined || p.sku !== undefined || p.name !== undefined
      ? [p]
      : []
  return list
    .filter((x): x is Record<string, unknown> => !!x && typeof x === 'object')
    .slice(0, 20)
    .map((x) => ({
      id: String(x.product_id ?? x.sku ?? x.id ?? ''),
      ...(typeof x.name === 'string' ? { name: x.name } : {}),
      ...(typeof x.category === 'string' ? { category: x.category } : {}),
      ...(Number.isFinite(Number(x.price)) && x.price !== undefined && x.price !== null ? { price: Number(x.price) } : {}),
      ...(typeof x.currency === 'string' ? { currency: x.currency } : {}),
      ...(typeof x.image_url === 'string' ? { image_url: x.image_url } : {}),
      ...(typeof x.url === 'string' ? { url: x.url } : {}),
    }))
}
