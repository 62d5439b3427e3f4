import type { CartPlan, SimEvent } from './modelTypes.js'
import { round2 } from './people.js'

/** Order Completed for a cart, as a shopper's planned checkout or organic purchase sends it. */
export function orderEvent(
  track: (event: string, properties: Record<string, unknown>) => SimEvent,
  cart: CartPlan,
  currency: string,
): SimEvent {
  return track('Order Completed', orderProperties(cart, 1, currency))
}

/** Order Completed's properties for a cart; a multiplier above 1 adds an add-on line (the basket grew), below 1 a discount. */
export function orderProperties(
  cart: Pick<CartPlan, 'cartId' | 'orderId' | 'products' | 'subtotal'>,
  multiplier = 1,
  currency?: string,
): Record<string, unknown> {
  const products: Record<string, unknown>[] = cart.products.map((p) => ({
    product_id: p.product_id,
    name: p.name,
    category: p.category,
    price: p.price,
    quantity: 1,
    image_url: p.image_url,
    url: p.url,
  }))
  const revenue = round2(cart.subtotal * multiplier)
  const extra = round2(revenue - cart.subtotal)
  if (extra > 0) products.push({ product_id: 'addon', name: 'Add-on', category: 'addon', price: extra, quantity: 1 })
  return {
    order_id: cart.orderId,
    cart_id: cart.cartId,
    products,
    revenue,
    ...(extra < 0 ? { discount: -extra } : {}),
    ...(currency ? { currency } : {}),
  }
}
