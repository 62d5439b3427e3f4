import { Router } from 'express'
import { z } from 'zod'
import type { RecommendationService } from '../../content/recommendations/service.js'
import { BLOCKS } from '../../content/recommendations/types.js'
import { NotFoundError } from '../../core/errors.js'
import { type RouteSpec, validated } from '../route.js'
import { errorBody } from '../../core/wireSchemas.js'

const productInput = z
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

const product = productInput
  .extend({ id: z.string(), source: z.enum(['catalog', 'events']), updated_at: z.number() })
  .meta({ id: 'Product' })

export const catalogSpecs = {
  upsert: {
    method: 'put',
    path: '/api/catalog/products',
    summary: 'Add or update products (the catalog wins over what events say about a product)',
    tag: 'Catalog',
    auth: 'admin',
    body: z.object({ products: z.array(productInput).min(1).max(10_000) }).strict(),
    responses: {
      200: { description: 'Stored', schema: z.object({ products: z.array(product) }) },
      400: { description: 'Invalid', schema: errorBody },
    },
  },
  get: {
    method: 'get',
    path: '/api/catalog/products/:id',
    summary: 'One product as templates see it',
    tag: 'Catalog',
    auth: 'admin',
    params: z.object({ id: z.string().min(1).max(256) }),
    responses: { 200: { description: 'Product', schema: product }, 404: { description: 'Unknown', schema: errorBody } },
  },
  recommend: {
    method: 'get',
    path: '/api/recommendations/:userId',
    summary: 'What a recommendation block shows this user now (and their behavioral flags)',
    tag: 'Catalog',
    auth: 'admin',
    params: z.object({ userId: z.string().min(1).max(256) }),
    query: z.object({
      block: z.enum(BLOCKS).default('recently_viewed'),
      limit: z.coerce.number().int().min(1).max(50).default(4),
      productId: z.string().max(256).optional(),
    }),
    responses: { 200: { description: 'Products and flags' } },
  },
} satisfies Record<string, RouteSpec>

export function catalogRouter(recs: RecommendationService): Router {
  const r = Router()
  r.put(
    catalogSpecs.upsert.path,
    validated(catalogSpecs.upsert, async ({ body }, _req, res) => void res.json({ products: await recs.upsertProducts(body.products) })),
  )
  r.get(
    catalogSpecs.get.path,
    validated(catalogSpecs.get, async ({ params }, _req, res) => {
      const [p] = await recs.catalog.get([params.id])
      if (!p) throw new NotFoundError(`No product "${params.id}"`)
      res.json(p)
    }),
  )
  r.get(
    catalogSpecs.recommend.path,
    validated(catalogSpecs.recommend, ({ params, query }, _req, res) => {
      res.json({
        userId: params.userId,
        block: query.block,
        products: recs.forUser(params.userId, query.block, {
          limit: query.limit,
          ...(query.productId ? { productId: query.productId } : {}),
        }),
        behavior: recs.behavior(params.userId),
      })
    }),
  )
  return r
}
