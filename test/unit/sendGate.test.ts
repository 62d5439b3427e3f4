import { describe, expect, it } from 'vitest'
import { SendGate, type GateOptions } from '../../delivery/sendGate.js'
import type { SendRequest } from '../../delivery/sendRequest.js'
import type { SendFactSources } from '../../delivery/sendFacts.js'
import type { LedgerEntry } from '../../journeys/sendLedgerReads.js'

// The gate's own work around the pure decision: one round of reads for requests that arrive
// together, priority order within a round, and reservations that hold a cap slot until the
// ledger shows the send. Facts come from in-memory repositories here (the integration tests
// read them from the store: journeys.policies, journeys.cart, erasure).
const NOW = Date.UTC(2026, 2, 2, 12, 0, 0)

function sources(ledger: LedgerEntry[] = []): SendFactSources & { rounds: number } {
  const s = {
    rounds: 0,
    ledger: {
      entries: async () => {
        s.rounds++
        return ledger
      },
    },
    consent: { grants: async () => new Map<string, boolean>() },
    events: { ofUsers: async () => [] },
    recipients: {
      emails: async (keys: readonly string[]) => new Map(keys.map((k) => [k, { email: `${k}@example.com`, lookupHash: `h-${k}` }])),
      traits: async () => new Map<string, Record<string, unknown>>(),
    },
    suppressions: { activeForUsers: async () => new Set<string>() },
    memberships: { members: async () => new Set<string>() },
  }
  return s
}

function gate(reads: SendFactSources, over: Partial<GateOptions> = {}): SendGate {
  return new SendGate({
    reads,
    consentDefaults: { marketing: true },
    capMode: 'skip',
    frequencyCap: { max: 1, windowMs: 86_400_000 },
    quietHoursTz: 'UTC',
    testUserIds: new Set(),
    isMember: () => false,
    inGlobalHoldout: () => false,
    now: () => NOW,
    ...over,
  })
}

const req = (messageId: string, priority: number, over: Partial<SendRequest> = {}): SendRequest => ({
  messageId,
  workflowId: `j-${messageId}:u1`,
  journeyId: `j-${messageId}`,
  journeyVersion: 1,
  stepId: 's1',
  userKey: 'u1',
  trigger: { messageId: `t-${messageId}`, event: 'x', type: 'track', userKey: 'u1', properties: {}, timestamp: NOW, receivedAt: NOW },
  template: 't',
  topic: 'marketing',
  priority,
  exit: [],
  flags: {},
  scheduledAt: NOW,
  test: false,
  ...over,
})

describe('SendGate', () => {
  it('requests that arrive together share one round of reads; the higher priority gets the one cap slot', async () => {
    const reads = sources()
    const g = gate(reads)
    const [low, high] = await Promise.all([g.check(req('low', 1)), g.check(req('high', 5))])
    expect(reads.rounds).toBe(1)
    expect(high).toMatchObject({ action: 'send', resumed: false, recipient: { email: 'u1@example.com', lookupHash: 'h-u1' } })
    expect(low).toEqual({ action: 'skip', reason: 'frequency_cap', exit: false })
  })

  it('a reservation holds the slot in later rounds until released (a send that did not happen)', async () => {
    const g = gate(sources())
    expect((await g.check(req('a', 1))).action).toBe('send')
    expect(await g.check(req('b', 1))).toMatchObject({ action: 'skip', reason: 'frequency_cap' })
    g.release('u1', 'a')
    expect((await g.check(req('c', 1))).action).toBe('send')
  })

  it('a message the ledger shows as sending is sent again without taking a slot; one shown as sent is done', async () => {
    const entry = (messageId: string, status: string): LedgerEntry => ({
      userKey: 'u1',
      messageId,
      status,
      firstAt: NOW - 1000,
      topic: 'transactional',
      test: false,
      runStep: `j-${messageId}:u1\u0000s1`,
    })
    const g = gate(sources([entry('resumed', 'sending'), entry('done', 'sent')]))
    expect(await g.check(req('resumed', 1))).toMatchObject({ action: 'send', resumed: true })
    expect(await g.check(req('done', 1))).toEqual({ action: 'already_sent' })
    expect(g.knows(['u1'])).toBe(false)
    expect((await g.check(req('fresh', 1))).action).toBe('send')
    expect(g.knows(['u1'])).toBe(true)
    g.forget(['u1'])
    expect(g.knows(['u1'])).toBe(false)
  })

  it('a run of a user erased after its trigger is refused (the deliverer asks erased() first and reads nothing)', async () => {
    const reads = sources()
    const g = gate(reads, { isErased: () => true })
    expect(g.erased(req('a', 1))).toBe(true)
    expect(await g.check(req('a', 1))).toEqual({ action: 'skip', reason: 'erased', exit: true })
  })
})
