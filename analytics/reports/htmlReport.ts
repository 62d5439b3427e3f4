import { escapeHtml } from '../../content/tracking/rewriteLinks.js'

/**
 * The demo's report as one self-contained HTML page (inline SVG, no scripts or external assets):
 * lift with its interval per variant and metric, the trigger-latency distribution per journey,
 * each journey's funnel, and the false-trigger counts. Pure: data in, HTML out.
 */
export interface ReportData {
  title: string
  generatedAt: string
  experiments: {
    key: string
    decision?: { hint: string; reason: string }
    metrics: {
      name: string
      role: string
      noEvents?: boolean
      comparisons: {
        arm: string
        effect: number | null
        ci: [number | null, number | null] | null
        pValue?: number | null
        chanceToWin?: number | null
      }[]
      truth?: Record<string, number>
    }[]
  }[]
  latency: {
    journey: string
    receivedToStarted: { p50: number; p90: number; p99: number } | null
    scheduledToSent?: { p50: number; p90: number; p99: number } | null
    sloMs: number
    breaches: number
  }[]
  funnel: { journey: string; entered: number; sent: number; opened: number; clicked: number; converted: number; exited?: number }[]
  falseTriggers: { total: number; rate: number; counts: Record<string, number>; prevented: Record<string, number> }
  links: { label: string; url: string }[]
}

const esc = (s: unknown) => escapeHtml(String(s))
const pct = (v: number) => `${(v * 100).toFixed(1)} %`

/** Lift and interval per arm on one axis around 0 (and the simulated truth, when known). */
function liftChart(id: string, rows: { label: string; effect: number; lo: number; hi: number; truth?: number }[]): string {
  const w = 640
  const rowH = 34
  const h = rows.length * rowH + 40
  const values = rows.flatMap((r) => [r.lo, r.hi, r.effect, r.truth ?? 0, 0]).filter(Number.isFinite)
  const span = Math.max(0.01, ...values.map(Math.abs)) * 1.15
  const x = (v: number) => 200 + ((v + span) / (2 * span)) * (w - 220)
  const body = rows
    .map((r, i) => {
      const y = 20 + i * rowH + rowH / 2
      const truth =
        r.truth !== undefined
          ? `<line class="truth" x1="${x(r.truth)}" x2="${x(r.truth)}" y1="${y - 10}" y2="${y + 10}" stroke="#d62728" stroke-width="2"><title>simulated truth ${pct(r.truth)}</title></line>`
          : ''
      return `<g class="lift" data-arm="${esc(r.label)}"><text x="190" y="${y + 4}" text-anchor="end">${esc(r.label)}</text>
        <line class="ci" x1="${x(r.lo)}" x2="${x(r.hi)}" y1="${y}" y2="${y}" stroke="#1f77b4" stroke-width="3"/>
        <circle class="effect" cx="${x(r.effect)}" cy="${y}" r="5" fill="#1f77b4"><title>${esc(r.label)}: ${pct(r.effect)} [${pct(r.lo)}, ${pct(r.hi)}]</title></circle>${truth}
        <text x="${w - 5}" y="${y + 4}" text-anchor="end" class="small">${pct(r.effect)}</text></g>`
    })
    .join('')
  return `<svg id="${esc(id)}" class="chart" role="img" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}"><line x1="${x(0)}" x2="${x(0)}" y1="10" y2="${h - 20}" stroke="#999" stroke-dasharray="4 3"/>
    <text x="${x(0)}" y="${h - 5}" text-anchor="middle" class="small">0</text>${body}</svg>`
}

/** Grouped bars: one group per row, one bar per series. */
function barChart(
  id: string,
  rows: { label: string; values: number[] }[],
  series: string[],
  fmt: (v: number) => string,
  refLine?: { value: number; label: string },
): string {
  const w = 640
  const groupH = 18 * series.length + 14
  const h = rows.length * groupH + 30
  const max = Math.max(1e-9, ...rows.flatMap((r) => r.values), refLine?.value ?? 0)
  const x = (v: number) => 200 + (v / max) * (w - 280)
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b']
  const body = rows
    .map((r, i) => {
      const y0 = 10 + i * groupH
      const bars = r.values
        .map(
          (v, k) =>
            `<rect class="bar" x="200" y="${y0 + k * 18}" width="${Math.max(1, x(v) - 200)}" height="14" fill="${colors[k % colors.length]}"><title>${esc(series[k])}: ${fmt(v)}</title></rect><text x="${x(v) + 4}" y="${y0 + k * 18 + 11}" class="small">${esc(series[k])} ${fmt(v)}</text>`,
        )
        .join('')
      return `<g data-row="${esc(r.label)}"><text x="190" y="${y0 + 12}" text-anchor="end">${esc(r.label)}</text>${bars}</g>`
    })
    .join('')
  const ref = refLine
    ? `<line x1="${x(refLine.value)}" x2="${x(refLine.value)}" y1="0" y2="${h - 16}" stroke="#d62728" stroke-dasharray="4 3"/><text x="${x(refLine.value)}" y="${h - 4}" class="small" text-anchor="middle">${esc(refLine.label)}</text>`
    : ''
  return `<svg id="${esc(id)}" class="chart" role="img" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">${body}${ref}</svg>`
}

export function renderHtmlReport(d: ReportData): string {
  const experiments = d.experiments
    .map((e) => {
      const rows = e.metrics.flatMap((m) =>
        m.comparisons
          .filter((c) => typeof c.effect === 'number')
          .map((c) => ({
            label: `${m.name} · ${c.arm}`,
            effect: c.effect!,
            lo: c.ci?.[0] ?? c.effect!,
            hi: c.ci?.[1] ?? c.effect!,
            ...(m.truth?.[c.arm] !== undefined ? { truth: m.truth[c.arm] } : {}),
          })),
      )
      const quiet = e.metrics
        .filter((m) => m.noEvents)
        .map((m) => `<p class="small no-events">${esc(m.name)} (${esc(m.role)}): no events yet</p>`)
        .join('')
      return `<section class="experiment"><h3>${esc(e.key)}</h3>${e.decision ? `<p><b>${esc(e.decision.hint)}</b> — ${esc(e.decision.reason)}</p>` : ''}
        ${rows.length ? liftChart(`lift-${e.key}`, rows) : '<p>No comparison yet.</p>'}${quiet}
        <p class="small">Relative lift against control with its interval; red marks the simulated truth.</p></section>`
    })
    .join('')
  const latency = barChart(
    'latency',
    d.latency
      .filter((l) => l.receivedToStarted)
      .map((l) => ({ label: l.journey, values: [l.receivedToStarted!.p50, l.receivedToStarted!.p90, l.receivedToStarted!.p99] })),
    ['p50', 'p90', 'p99'],
    (v) => `${Math.round(v)} ms`,
  )
  const funnel = barChart(
    'funnel',
    d.funnel.map((f) => ({ label: f.journey, values: [f.entered, f.sent, f.opened, f.clicked, f.converted] })),
    ['entered', 'sent', 'opened', 'clicked', 'converted'],
    (v) => String(v),
  )
  const ft = Object.entries(d.falseTriggers.counts)
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${v}</td></tr>`)
    .join('')
  const prevented = Object.entries(d.falseTriggers.prevented)
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${v}</td></tr>`)
    .join('')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(d.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:980px;color:#222}h1{font-size:22px}h2{margin-top:32px;border-bottom:1px solid #eee}
.chart text{font:12px system-ui,sans-serif}.small{font-size:11px;fill:#555;color:#555}table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}.num{text-align:right}</style></head>
<body><h1>${esc(d.title)}</h1><p class="small">Generated ${esc(d.generatedAt)}</p>
<h2>Experiments: lift with intervals</h2>${experiments || '<p>No experiments.</p>'}
<h2>Trigger latency (event received → run started)</h2>${latency}
<p class="small">${d.latency.map((l) => `${esc(l.journey)}: SLO ${Math.round(l.sloMs / 1000)} s, ${l.breaches} breaches`).join(' · ')}</p>
<h2>Journey funnel</h2>${funnel}
<p class="small">Converted: bought after the journey's message. Ended on the exit event before any message: ${d.funnel.map((f) => `${esc(f.journey)} ${f.exited ?? 0}`).join(' · ')}</p>
<h2>False triggers</h2><p><b>${d.falseTriggers.total}</b> (${pct(d.falseTriggers.rate)} of sends)</p>
<table id="false-triggers"><tr><th>Class</th><th>Sends</th></tr>${ft}</table>
<h3>Caught by the pre-send check</h3><table id="prevented"><tr><th>Reason</th><th>Skipped</th></tr>${prevented}</table>
<h2>Where to look next</h2><ul>${d.links.map((l) => `<li><a href="${esc(l.url)}">${esc(l.label)}</a></li>`).join('')}</ul>
</body></html>`
}
