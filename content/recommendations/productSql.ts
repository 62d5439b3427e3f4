/**
 * SQL fragments reading products out of event JSON, the twin of eventProducts.ts. Only
 * expressions over a JSON column or lambda variable: no values, so nothing here needs binding.
 */

/** A JSON field as text when it is a string or an integer (ids are often numeric), else ''. */
function idText(json: string, key: string): string {
  return `multiIf(JSONType(${json}, '${key}') = 'String', JSONExtractString(${json}, '${key}'), JSONType(${json}, '${key}') IN ('Int64', 'UInt64'), JSONExtractRaw(${json}, '${key}'), '')`
}

/** `product_id`, falling back to `sku`; '' when neither is there. */
export function productIdSql(json: string): string {
  const id = idText(json, 'product_id')
  return `if(${id} != '', ${id}, ${idText(json, 'sku')})`
}

/** An order's product lines, distinct ids, empty ones dropped: `Array(String)`. */
export function orderProductIdsSql(properties: string): string {
  return `arrayDistinct(arrayFilter(x -> x != '', arrayMap(item -> ${productIdSql('item')}, JSONExtractArrayRaw(${properties}, 'products'))))`
}

/**
 * One row per product an event names, for the events of `where` (which reads `events` columns
 * unqualified): a view or cart add names one, an order each of its lines. Columns: pid, p_name,
 * p_category, p_price (NaN when absent), p_currency, p_image, p_url, p_brand, ts, ev.
 */
export function sightingsSql(where: string, purchaseEvent: string): string {
  const field = (json: string, key: string) => `JSONExtractString(${json}, '${key}')`
  const price = (json: string) => `if(JSONHas(${json}, 'price'), JSONExtractFloat(${json}, 'price'), nan)`
  const cols = (json: string, currency: string) =>
    `${productIdSql(json)} AS pid, ${field(json, 'name')} AS p_name, ${field(json, 'category')} AS p_category, ${price(json)} AS p_price,
     ${currency} AS p_currency, ${field(json, 'image_url')} AS p_image, ${field(json, 'url')} AS p_url, ${field(json, 'brand')} AS p_brand,
     timestamp AS ts, event AS ev`
  return `SELECT ${cols('properties', field('properties', 'currency'))} FROM events WHERE ${where} AND event != ${purchaseEvent}
    UNION ALL
    SELECT ${cols('item', `if(JSONHas(item, 'currency'), ${field('item', 'currency')}, ${field('properties', 'currency')})`)}
    FROM events ARRAY JOIN JSONExtractArrayRaw(properties, 'products') AS item WHERE ${where} AND event = ${purchaseEvent}`
}
