import { ORDER_COMPLETED, PRODUCT_ADDED, PRODUCT_VIEWED } from './types.js'

/**
 * Reading products out of event properties (Segment e-commerce spec), in JS. The SQL twin is
 * productSql.ts: both read `product_id`, falling back to `sku`, strings or integers alike.
 */
export interface Sighting {
  id: string
  name: string
  category: string
  /** NaN when the event does not say. */
  price: number
  currency: string
  image_url: string
  url: string
  brand: string
}

/** An id as text: a non-empty string, or a finite number (ids are often numeric in JSON). */
function idText(v: unknown): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  return ''
}

export function productIdOf(props: Record<string, unknown>): string {
  return idText(props.product_id) || idText(props.sku)
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN)

function sighting(item: Record<string, unknown>, order?: Record<string, unknown>): Sighting | undefined {
  const id = productIdOf(item)
  if (!id) return undefined
  return {
    id,
    name: str(item.name),
    category: str(item.category),
    price: num(item.price),
    currency: str(item.currency) || str(order?.currency),
    image_url: str(item.image_url),
    url: str(item.url),
    brand: str(item.brand),
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The products an event names: one for a view or cart add, each distinct line of an order. */
export function productsOf(event: string, props: Record<string, unknown>): Sighting[] {
  if (event === PRODUCT_VIEWED || event === PRODUCT_ADDED) {
    const s = sighting(props)
    return s ? [s] : []
  }
  if (event !== ORDER_COMPLETED || !Array.isArray(props.products)) return []
  const seen = new Set<string>()
  const out: Sighting[] = []
  for (const item of props.products) {
    const s = isObject(item) ? sighting(item, props) : undefined
    if (s && !seen.has(s.id)) {
      seen.add(s.id)
      out.push(s)
    }
  }
  return out
}
