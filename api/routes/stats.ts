import { Router } from 'express'
import { z } from 'zod'
import { adjustPValues } from '../../analytics/stats/adjust.js'
import { analyze } from '../../analytics/stats/analyze.js'
import { analyzeRequest, analyzeResponse } from '../../analytics/stats/analyzeSchema.js'
import { power } from '../../analytics/stats/power.js'
import { srm } from '../../analytics/stats/srm.js'
import { adjustRequest, adjustResponse, powerRequest, powerResponse, srmRequest, srmResponse } from '../../analytics/stats/toolsSchema.js'
import type { ExperimentResults } from '../../analytics/results/resultsService.js'
import { slug } from '../../experiments/experimentSchema.js'
import { type RouteSpec, validated } from '../route.js'
import { errorBody } from '../../core/errors.js'
import { experimentResults } from '../responses/results.js'
import { type HoldoutReport, holdoutReport } from '../responses/reports.js'
import { isoDateTime } from '../../core/wireSchemas.js'

/**
 * The stats engine over HTTP, stateless ("bring your own aggregates"), and an experiment's results
 * from stored data. Every body is validated by the engine's own schemas: a 400 names the field.
 */
export const statsSpecs = {
  analyze: {
    method: 'post',
    path: '/api/stats/analyze',
    summary:
      'Compare arms from their sufficient statistics: effect, interval, p-value or chance to win and risk (frequentist, Bayesian, sequential, CUPED, ratio)',
    tag: 'Stats',
    auth: 'admin',
    body: analyzeRequest,
    responses: {
      200: { description: 'One comparison per non-control arm', schema: analyzeResponse },
      400: { description: 'Invalid aggregates (the field is named)', schema: errorBody },
    },
  },
  srm: {
    method: 'post',
    path: '/api/stats/srm',
    summary: 'Sample-ratio-mismatch check (χ², flagged below p = 0.001)',
    tag: 'Stats',
    auth: 'admin',
    body: srmRequest,
    responses: { 200: { description: 'Result', schema: srmResponse }, 400: { description: 'Invalid', schema: errorBody } },
  },
  adjust: {
    method: 'post',
    path: '/api/stats/adjust',
    summary: 'Multiple-testing adjustment (Holm, Benjamini–Hochberg), in input order',
    tag: 'Stats',
    auth: 'admin',
    body: adjustRequest,
    responses: { 200: { description: 'Adjusted p-values', schema: adjustResponse }, 400: { description: 'Invalid', schema: errorBody } },
  },
  power: {
    method: 'post',
    path: '/api/stats/power',
    summary: 'Power for an effect at a sample size, and the minimum detectable effect (fixed or sequential)',
    tag: 'Stats',
    auth: 'admin',
    body: powerRequest,
    responses: { 200: { description: 'Power and MDE', schema: powerResponse }, 400: { description: 'Invalid', schema: errorBody } },
  },
  results: {
    method: 'get',
    path: '/api/experiments/:key/results',
    summary:
      'Results from stored data: per metric and arm the effect with its interval, p-value or chance to win and risk, SRM, warnings, a decision hint, results over time, power / MDE / remaining runtime',
    tag: 'Experiments',
    auth: 'admin',
    params: z.object({ key: slug }),
    query: z.object({
      until: isoDateTime.optional().describe('Results as of this time (default now, or when the experiment stopped)'),
      overTime: z.enum(['true', 'false']).default('true').describe('Include the daily cumulative series'),
    }),
    responses: {
      200: { description: 'Results', schema: experimentResults },
      404: { description: 'No such experiment', schema: errorBody },
    },
  },
  holdout: {
    method: 'get',
    path: '/api/reports/holdout',
    summary:
      'Global holdout: conversion and revenue per recipient, holdout vs mailed, per journey and overall, with relative lift and interval',
    tag: 'Reports',
    auth: 'admin',
    query: z.object({
      from: isoDateTime.optional().describe('Entries from (default 30 days ago)'),
      until: isoDateTime.optional(),
      windowDays: z.coerce.number().positive().max(90).default(7).describe('Conversion window after entering a journey'),
    }),
    responses: { 200: { description: 'Report', schema: holdoutReport } },
  },
} satisfies Record<string, RouteSpec>

export function statsRouter(
  results: ExperimentResults,
  holdout: (q: { from: number; until: number; windowDays: number }) => Promise<HoldoutReport>,
  now: () => number = Date.now,
): Router {
  const r = Router()
  r.post(
    statsSpecs.analyze.path,
    validated(statsSpecs.analyze, ({ body, reply }) => reply(200, analyze(body))),
  )
  r.post(
    statsSpecs.srm.path,
    validated(statsSpecs.srm, ({ body, reply }) => reply(200, srm(body.observed, body.weights))),
  )
  r.post(
    statsSpecs.adjust.path,
    validated(statsSpecs.adjust, ({ body, reply }) => reply(200, { adjusted: adjustPValues(body.pValues, body.method) })),
  )
  r.post(
    statsSpecs.power.path,
    validated(statsSpecs.power, ({ body, reply }) => reply(200, power(body))),
  )
  r.get(
    statsSpecs.results.path,
    validated(statsSpecs.results, async ({ params, query, reply }) => {
      reply(
        200,
        await results.results(params.key, {
          ...(query.until ? { until: Date.parse(query.until) } : {}),
          overTime: query.overTime === 'true',
        }),
      )
    }),
  )
  r.get(
    statsSpecs.holdout.path,
    validated(statsSpecs.holdout, async ({ query, reply }) => {
      const until = query.until ? Date.parse(query.until) : now()
      reply(
        200,
        await holdout({ from: query.from ? Date.parse(query.from) : until - 30 * 86_400_000, until, windowDays: query.windowDays }),
      )
    }),
  )
  return r
}
