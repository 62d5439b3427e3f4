import { describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { useTestNudge } from '../helpers/harness.js'
import { waitFor } from '../helpers/journeys.js'
import { seedSentMessage } from '../helpers/sentMessage.js'

/**
 * The other side of security.origin.test.ts: with TRUST_PROXY naming the hop the request comes
 * through (loopback here), X-Forwarded-For is the client's address — an open from Apple's
 * range is then a machine open (Mail Privacy Protection). Without METRICS_KEY, /metrics is open.
 */
describe('TRUST_PROXY=loopback, no METRICS_KEY', () => {
  const fx = useTestNudge({ role: 'api', env: { TRUST_PROXY: 'loopback' } })

  it('believes X-Forwarded-For from a trusted hop: the open is flagged apple_mpp', async () => {
    const m = await seedSentMessage(fx.nudge)
    const res = await fetch(`${fx.nudge.url}/t/o/${m.open}`, {
      headers: {
        'x-forwarded-for': '17.58.0.1',
        'user-agent':
          'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15',
      },
    })
    expect(res.status).toBe(200)
    const [row] = await waitFor(async () => {
      const r = await selectRows<{ machine: number; machine_reason: string }>(
        fx.nudge.store.client,
        "SELECT machine, machine_reason FROM message_events WHERE message_id = {m:String} AND event = 'open'",
        { m: m.messageId },
      )
      return r.length > 0 && r
    })
    expect(row).toMatchObject({ machine: 1, machine_reason: 'apple_mpp' })
  })

  it('/metrics is open when METRICS_KEY is not set', async () => {
    const res = await fetch(`${fx.nudge.url}/metrics`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('nudge_')
  })
})
