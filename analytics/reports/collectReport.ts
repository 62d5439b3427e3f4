import type { ClickHouseClient } from '@clickhouse/client'
import type { ExperimentResults } from '../results/resultsService.js'
import { type DetectOptions, falseTriggerReport } from './falseTriggers.js'
import { journeyFunnel } from './funnel.js'
import type { ReportData } from './htmlReport.js'
import { noEvents } from './liftLines.js'
import { triggerLatency } from './triggerLatency.js'

/** Gathers the report's data from the running services (results, latency, funnel, false triggers). */
export async function collectReport(d: {
  client: ClickHouseClient
  results: ExperimentResults
  experimentKeys: string[]
  slo: { default: number; byJourney: Record<string, number> }
  detect: Omit<DetectOptions, 'from' | 'until'>
  from: number
  until: number
  /** Simulated truth per experiment, metric name and arm (the demo knows it). */
  truth?: Record<string, Record<string, Record<string, number>>>
  links: { label: string; url: string }[]
}): Promise<ReportData> {
  const range = { from: d.from, until: d.until }
  const experiments = []
  for (const key of d.experimentKeys) {
    const r = await d.results.results(key, { until: d.until, overTime: false })
    experiments.push({
      key,
      decision: r.decision,
      metrics: r.metrics.map((m) => {
        const name =
          m.metric.name ??
          `${m.metric.event}${m.metric.kind === 'sum' ? ` ${m.metric.property}` : m.metric.kind === 'count' ? ' count' : ''}`
        const truth = d.truth?.[key]?.[name]
        return {
          name,
          role: m.role,
          ...(noEvents(m) ? { noEvents: true } : {}),
          comparisons: m.comparisons.map((c) => ({
            arm: c.arm,
            effect: c.effect ?? null,
            ci: (c.ci as [number | null, number | null] | null) ?? null,
            pValue: c.pValue ?? null,
            chanceToWin: c.chanceToWin ?? null,
          })),
          ...(truth ? { truth } : {}),
        }
      }),
    })
  }
  const [latency, funnel, ft] = await Promise.all([
    triggerLatency(d.client, { ...range, slo: d.slo }),
    journeyFunnel(d.client, range),
    falseTriggerReport(d.client, { ...d.detect, ...range }),
  ])
  const prevented: Record<string, number> = {}
  for (const j of ft.journeys) for (const [k, v] of Object.entries(j.prevented)) prevented[k] = (prevented[k] ?? 0) + v
  return {
    title: 'Nudge — what the journeys did',
    generatedAt: new Date(d.until).toISOString(),
    experiments,
    latency: latency.journeys.map((l) => ({
      journey: l.journey,
      receivedToStarted: l.receivedToStarted,
      sloMs: l.slo.receivedToSentMs,
      breaches: l.slo.breaches,
    })),
    funnel,
    falseTriggers: { total: ft.falseTriggers, rate: ft.rate, counts: ft.counts, prevented },
    links: d.links,
  }
}
