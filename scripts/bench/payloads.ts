/**
 * Realistic Segment traffic for the ingest benchmark: a storefront's mix of page views, product
 * and cart events, and identifies, ~100 events a batch, each with the context analytics.js sends.
 */
const CATEGORIES = ['shoes', 'jackets', 'bags', 'hats', 'socks', 'shirts']
const PAGES = ['/', '/c/shoes', '/c/jackets', '/p/trail-runner', '/cart', '/checkout', '/blog/how-to-layer']
const TRACKS = ['Product Viewed', 'Product Added', 'Cart Viewed', 'Checkout Started', 'Products Searched', 'Order Completed']

export const ID_MARK = '~~~~~~~~' // fixed width, overwritten per request so every messageId is unique

function pick<T>(xs: T[], i: number): T {
  return xs[i % xs.length]!
}

export function makeEvent(i: number, userNo: number, nowIso: string): Record<string, unknown> {
  const userId = `user-${userNo}`
  const anonymousId = `anon-${userNo.toString(36)}-4f1c9a`
  const context = {
    library: { name: 'analytics.js', version: '5.2.0' },
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    ip: `203.0.113.${userNo % 250}`,
    locale: 'en-US',
    page: { path: pick(PAGES, i), referrer: 'https://www.google.com/', url: `https://shop.example.com${pick(PAGES, i)}` },
  }
  const base = { messageId: `${ID_MARK}-${i.toString().padStart(3, '0')}`, anonymousId, timestamp: nowIso, context }
  const kind = i % 10
  if (kind < 4)
    return {
      ...base,
      type: 'page',
      userId,
      name: pick(PAGES, i),
      properties: { title: 'Trail Runner — Example Shop', path: pick(PAGES, i) },
    }
  if (kind < 9)
    return {
      ...base,
      type: 'track',
      userId,
      event: pick(TRACKS, i),
      properties: {
        product_id: `sku-${(i * 7919) % 5000}`,
        name: 'Trail Runner 2',
        category: pick(CATEGORIES, i),
        price: 89.95,
        currency: 'USD',
        quantity: 1 + (i % 3),
        image_url: `https://cdn.example.com/p/${(i * 7919) % 5000}.jpg`,
        cart_id: `cart-${userNo}`,
      },
    }
  return {
    ...base,
    type: 'identify',
    userId,
    traits: { name: `Shopper ${userNo}`, email: `shopper${userNo}@example.com`, plan: 'member', city: 'Oslo', age: 20 + (userNo % 50) },
  }
}

/** A /v1/batch body as bytes plus the offsets of every ID_MARK, so a request can be stamped in place. */
export function makeBatchTemplate(seed: number, size = 100): { body: Buffer; marks: number[] } {
  const nowIso = new Date().toISOString()
  const batch = Array.from({ length: size }, (_, i) => makeEvent(seed * size + i, (seed * 31 + i * 17) % 20_000, nowIso))
  const body = Buffer.from(JSON.stringify({ batch, sentAt: nowIso }))
  const marks: number[] = []
  for (let at = body.indexOf(ID_MARK); at >= 0; at = body.indexOf(ID_MARK, at + 1)) marks.push(at)
  return { body, marks }
}

/** Writes a unique request number over every mark (base 36, 8 characters). */
export function stamp(template: { body: Buffer; marks: number[] }, requestNo: number): Buffer {
  const body = Buffer.from(template.body)
  const text = requestNo.toString(36).padStart(8, '0')
  for (const at of template.marks) body.write(text, at, 'latin1')
  return body
}
