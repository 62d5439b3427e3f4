import { Router } from 'express'
import { z } from 'zod'
import type { RecommendationService } from '../../content/recommendations/service.js'
import { BLOCKS, behaviorFlags, product, productInput, recommendedProduct } from '../../content/recommendations/types.js'
import { NotFoundError, errorBody } from '../../core/errors.js'
import { type RouteSpec, validated } from '../route.js'

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
    responses: {
      200: {
        description: 'Products and flags',
        schema: z
          .object({ userId: z.string(), block: z.enum(BLOCKS), products: z.array(recommendedProduct), behavior: behaviorFlags })
          .meta({ id: 'Recommendations' }),
      },
    },
  },
} satisfies Record<string, RouteSpec>

export function catalogRouter(recs: RecommendationService): Router {
  const r = Router()
  r.put(
    catalogSpecs.upsert.path,
    validated(catalogSpecs.upsert, async ({ body, reply }) => reply(200, { products: await recs.upsertProducts(body.products) })),
  )
  r.get(
    catalogSpecs.get.path,
    validated(catalogSpecs.get, async ({ params, reply }) => {
      const [p] = await recs.catalog.get([params.id])
      if (!p) throw new NotFoundError(`No product "${params.id}"`)
      reply(200, p)
    }),
  )
  r.get(
    catalogSpecs.recommend.path,
    validated(catalogSpecs.recommend, ({ params, query, reply }) => {
      reply(200, {
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
