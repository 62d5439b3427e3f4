import { describe, expect, it } from 'vitest'
import { renderHtmlReport } from '../../analytics/reports/htmlReport.js'
import { liftLines } from '../../analytics/reports/liftLines.js'

describe('the demo’s lift lines', () => {
  const arms = (means: (number | null)[]) => means.map((mean, i) => ({ name: `a${i}`, n: 100, mean }))

  it('prints lift, interval and the truth, and whether the interval covers it', () => {
    const lines = liftLines(
      {
        metrics: [
          {
            role: 'primary',
            metric: { name: 'conversion' },
            arms: arms([0.1, 0.15]),
            comparisons: [
              { arm: 'm15', effect: 0.5, ci: [0.1, 0.9] },
              { arm: 'holdout', effect: -0.4, ci: [-0.6, -0.2] },
            ],
          },
        ],
      },
      { conversion: { m15: 0.45, holdout: -0.1 } },
    )
    expect(lines).toEqual([
      '  conversion   m15        50.0 % [10.0 %, 90.0 %]   truth 45.0 %  ✓ inside',
      '  conversion   holdout   -40.0 % [-60.0 %, -20.0 %]   truth -10.0 %  ✗ outside',
    ])
  })

  it('a guardrail no unit has an event of reads "no events yet", not empty numbers', () => {
    const lines = liftLines({
      metrics: [
        {
          role: 'guardrail',
          metric: { event: 'Unsubscribed' },
          arms: arms([0, 0, 0]),
          comparisons: [
            { arm: 'm15', effect: null, ci: null },
            { arm: 'holdout', effect: null, ci: [null, null] },
          ],
        },
      ],
    })
    expect(lines).toEqual(['  Unsubscribed m15      no events yet', '  Unsubscribed holdout  no events yet'])
    expect(lines.join('\n')).not.toContain('—')
  })

  it('a metric with events but no estimate still shows that it has none', () => {
    const lines = liftLines({
      metrics: [
        {
          role: 'guardrail',
          metric: { event: 'Unsubscribed' },
          arms: arms([0, 0.02]),
          comparisons: [{ arm: 'm15', effect: null, ci: null }],
        },
      ],
    })
    expect(lines).toEqual(['  Unsubscribed m15             — [—, —]'])
  })

  it('the HTML report says the same of a guardrail without events', () => {
    const html = renderHtmlReport({
      title: 't',
      generatedAt: '2026-01-01',
      experiments: [
        {
          key: 'e',
          metrics: [
            { name: 'conversion', role: 'primary', comparisons: [{ arm: 'b', effect: 0.1, ci: [0, 0.2] }] },
            { name: 'Unsubscribed', role: 'guardrail', noEvents: true, comparisons: [{ arm: 'b', effect: null, ci: null }] },
          ],
        },
      ],
      latency: [],
      funnel: [],
      falseTriggers: { total: 0, rate: 0, counts: {}, prevented: {} },
      links: [],
    })
    expect(html).toContain('Unsubscribed (guardrail): no events yet')
    expect(html).not.toContain('conversion (primary): no events yet')
  })
})
