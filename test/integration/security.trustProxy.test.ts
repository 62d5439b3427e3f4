import { describe, expect, it } from 'vitest'
import { useTestNudge } from '../helpers/harness.js'
import { openViaAppleProxy } from '../helpers/sentMessage.js'

/**
 * The other side of security.origin.test.ts: with TRUST_PROXY naming the hop the request comes
 * through (loopback here), X-Forwarded-For is the client's address — an open from Apple's
 * range is then a machine open (Mail Privacy Protection). Without METRICS_KEY, /metrics is open.
 */
describe('TRUST_PROXY=loopback, no METRICS_KEY', () => {
  const fx = useTestNudge({ role: 'api', env: { TRUST_PROXY: 'loopback' } })

  it('believes X-Forwarded-For from a trusted hop: the open is flagged apple_mpp', async () => {
    expect(await openViaAppleProxy(fx.nudge)).toMatchObject({ machine: 1, machine_reason: 'apple_mpp' })
  })

  it('/metrics is open when METRICS_KEY is not set', async () => {
    const res = await fetch(`${fx.nudge.url}/metrics`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('nudge_')
  })
})
