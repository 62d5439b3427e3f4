/**
 * An experiment's results as the demo prints them: one line per metric and arm — the relative
 * lift against control with its 95 % interval, and the simulated truth with whether the interval
 * covers it. A metric no unit has an event of yet (a guardrail such as Unsubscribed, often) says
 * so instead of printing empty numbers. Pure: results in, lines out.
 */
export interface ResultsForLines {
  metrics: {
    role?: string
    metric: { name?: string; event?: string }
    arms?: { name: string; n: number; mean: number | null }[]
    comparisons: { arm: string; effect: number | null; ci: [number | null, number | null] | null }[]
  }[]
}

const pct = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(1)} %`)

/** No arm has an event of this metric: every arm's mean is 0 (or there is no arm to read). */
export function noEvents(m: ResultsForLines['metrics'][number]): boolean {
  return !m.arms?.length || m.arms.every((a) => !a.mean)
}

export function liftLines(results: ResultsForLines, truth: Record<string, Record<string, number>> = {}): string[] {
  const out: string[] = []
  for (const m of results.metrics) {
    const name = m.metric.name ?? m.metric.event ?? ''
    for (const c of m.comparisons) {
      const head = `  ${name.padEnd(12)} ${c.arm.padEnd(8)}`
      if ((c.effect === null || c.effect === undefined) && noEvents(m)) {
        out.push(`${head} no events yet`)
        continue
      }
      const t = truth[name]?.[c.arm]
      const lo = c.ci?.[0] ?? null
      const hi = c.ci?.[1] ?? null
      const covered =
        t === undefined || !Number.isFinite(t) || lo === null || hi === null ? '' : t >= lo && t <= hi ? '  ✓ inside' : '  ✗ outside'
      out.push(`${head} ${pct(c.effect).padStart(8)} [${pct(lo)}, ${pct(hi)}]${t === undefined ? '' : `   truth ${pct(t)}${covered}`}`)
    }
  }
  return out
}
