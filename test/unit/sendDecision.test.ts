import { describe, expect, it } from 'vitest'
import {
  DEFER_REASONS,
  SKIP_REASONS,
  SKIP_REASON_PREFIXES,
  type SendDecision,
  type SendFacts,
  type SendPolicy,
  decideSend,
  runStep,
} from '../../delivery/sendDecision.js'
import type { SendRequest } from '../../delivery/sendRequest.js'
import type { JourneyEvent } from '../../journeys/matchEvent.js'
import { ENGAGEMENT_EVENTS } from '../../segments/ruleSchema.js'

// 2026-03-02 12:00 UTC: inside a 08:00–21:00 sending window in UTC, outside it in Tokyo (21:00).
const NOW = Date.UTC(2026, 2, 2, 12, 0, 0)
const HOUR = 3_600_000
const DAY = 24 * HOUR

const request = (over: Partial<SendRequest> = {}): SendRequest => ({
  messageId: 'm-1',
  workflowId: 'cart:u1:c1',
  journeyId: 'cart',
  journeyVersion: 1,
  stepId: 'remind',
  userKey: 'u1',
  correlationKey: 'cart_id',
  correlation: 'c1',
  trigger: event({ event: 'Product Added', messageId: 'trig', timestamp: NOW - HOUR, receivedAt: NOW - HOUR }),
  template: 'reminder',
  topic: 'marketing',
  priority: 0,
  exit: [{ type: 'event', event: 'Order Completed', match: 'user' }],
  flags: {},
  scheduledAt: NOW,
  test: false,
  ...over,
})

function event(over: Partial<JourneyEvent>): JourneyEvent {
  return { messageId: 'e', event: 'x', type: 'track', userKey: 'u1', properties: {}, timestamp: NOW, receivedAt: NOW, ...over }
}

const facts = (over: Partial<SendFacts> = {}): SendFacts => ({
  erased: false,
  granted: true,
  events: [],
  memberOf: new Set(),
  conditionHolds: true,
  listSuppressed: false,
  hasAddress: true,
  test: false,
  inGlobalHoldout: false,
  capUsed: [],
  sameStep: [],
  reserved: [],
  ...over,
})

const policy: SendPolicy = {
  consentDefaults: { marketing: false, transactional: true },
  capMode: 'defer',
  quietHoursTz: 'UTC',
  softBounceLimit: 3,
  duplicateWindowMs: DAY,
}
const capped: SendPolicy = { ...policy, frequencyCap: { max: 2, windowMs: DAY } }
const quiet: SendPolicy = { ...policy, quietHours: { from: '21:00', to: '08:00' } }
const sent = (id: string, at: number) => ({ id, at })
const send = { action: 'send', resumed: false } as const
const skip = (reason: string, exit = true) => ({ action: 'skip', reason, exit }) as const

const cases: { name: string; req?: Partial<SendRequest>; facts?: Partial<SendFacts>; policy?: SendPolicy; want: SendDecision }[] = [
  { name: 'nothing stands in the way: send', want: send },
  { name: 'erased after the trigger: skip, before anything else', facts: { erased: true, ledgerStatus: 'sent' }, want: skip('erased') },
  { name: 'the ledger says sent: nothing to do', facts: { ledgerStatus: 'sent', granted: false }, want: { action: 'already_sent' } },
  {
    name: 'the ledger says sending (a crash mid-send): send again, without deciding again',
    facts: { ledgerStatus: 'sending', granted: false },
    want: { action: 'send', resumed: true },
  },
  { name: 'consent withdrawn for the topic', facts: { granted: false }, want: skip('consent') },
  { name: 'consent never recorded: the topic default (marketing off)', facts: { granted: undefined }, want: skip('consent') },
  {
    name: 'consent never recorded: the topic default (transactional on)',
    req: { topic: 'transactional' },
    facts: { granted: undefined },
    want: send,
  },
  {
    name: 'a conversion after the trigger ends the run',
    facts: { events: [event({ event: 'Order Completed', timestamp: NOW - 1 })] },
    want: skip('exit:Order Completed'),
  },
  {
    name: 'a conversion before the trigger does not',
    facts: { events: [event({ event: 'Order Completed', timestamp: NOW - 2 * HOUR })] },
    want: send,
  },
  {
    name: 'a conversion matched by correlation: another cart does not end this run',
    req: { exit: [{ type: 'event', event: 'Order Completed', match: 'correlation' }] },
    facts: { events: [event({ event: 'Order Completed', properties: { cart_id: 'c2' } })] },
    want: send,
  },
  {
    name: 'a conversion matched by correlation: this cart ends it',
    req: { exit: [{ type: 'event', event: 'Order Completed', match: 'correlation' }] },
    facts: { events: [event({ event: 'Order Completed', properties: { cart_id: 'c1' } })] },
    want: skip('exit:Order Completed'),
  },
  {
    name: 'left an exit segment',
    req: { exit: [{ type: 'segment_exit', segment: 'vip' }] },
    facts: { memberOf: new Set() },
    want: skip('left_segment:vip'),
  },
  {
    name: 'still in the exit segment',
    req: { exit: [{ type: 'segment_exit', segment: 'vip' }] },
    facts: { memberOf: new Set(['vip']) },
    want: send,
  },
  {
    name: 'the trigger condition no longer holds',
    req: { condition: { segment: 'lapsed', member: true } },
    facts: { conditionHolds: false },
    want: skip('condition_false:lapsed'),
  },
  { name: 'address on the suppression list', facts: { listSuppressed: true }, want: skip('suppressed') },
  { name: 'a complaint suppresses', facts: { events: [event({ event: ENGAGEMENT_EVENTS.complained })] }, want: skip('suppressed') },
  {
    name: 'a hard bounce suppresses',
    facts: { events: [event({ event: ENGAGEMENT_EVENTS.bounced, properties: {} })] },
    want: skip('suppressed'),
  },
  {
    name: 'soft bounces under the limit do not',
    facts: {
      events: [1, 2].map((i) => event({ event: ENGAGEMENT_EVENTS.bounced, messageId: `b${i}`, properties: { bounce_type: 'soft' } })),
    },
    want: send,
  },
  {
    name: 'soft bounces at the limit (30 days) do',
    facts: {
      events: [1, 2, 3].map((i) => event({ event: ENGAGEMENT_EVENTS.bounced, messageId: `b${i}`, properties: { bounce_type: 'soft' } })),
    },
    want: skip('suppressed'),
  },
  {
    name: 'soft bounces older than 30 days do not count',
    facts: {
      events: [1, 2, 3].map((i) =>
        event({ event: ENGAGEMENT_EVENTS.bounced, messageId: `b${i}`, properties: { bounce_type: 'soft' }, timestamp: NOW - 31 * DAY }),
      ),
    },
    want: send,
  },
  { name: 'no email address', facts: { hasAddress: false }, want: skip('no_address') },
  { name: 'in the global holdout', facts: { inGlobalHoldout: true }, want: skip('global_holdout') },
  { name: 'a test account is never held out', facts: { inGlobalHoldout: true, test: true }, want: send },
  {
    name: 'an earlier run of this cart sent this step: duplicate',
    facts: { sameStep: [sent('m-0', NOW - 3 * HOUR)] },
    want: skip('duplicate'),
  },
  {
    name: 'this run visiting its step again (sent after its trigger) is no duplicate',
    facts: { sameStep: [sent('m-0', NOW - 30 * 60_000)] },
    want: send,
  },
  {
    name: 'a reservation of an earlier run in this process: duplicate',
    facts: { reserved: [{ id: 'm-0', at: NOW - 2 * HOUR, runStep: runStep(request()) }] },
    want: skip('duplicate'),
  },
  {
    name: 'no correlation: no duplicate check',
    req: { correlation: undefined },
    facts: { sameStep: [sent('m-0', NOW - 3 * HOUR)] },
    want: send,
  },
  {
    name: 'quiet hours in the user’s time zone: defer to the window’s end',
    policy: quiet,
    facts: { timeZone: 'Asia/Tokyo' },
    want: { action: 'defer', reason: 'quiet_hours', until: Date.UTC(2026, 2, 2, 23, 0, 0) },
  },
  { name: 'outside quiet hours in the default zone', policy: quiet, want: send },
  {
    name: 'quiet hours do not hold transactional mail',
    policy: quiet,
    req: { topic: 'transactional' },
    facts: { timeZone: 'Asia/Tokyo' },
    want: send,
  },
  { name: 'quiet hours do not hold test accounts', policy: quiet, facts: { timeZone: 'Asia/Tokyo', test: true }, want: send },
  { name: 'under the frequency cap', policy: capped, facts: { capUsed: [sent('a', NOW - HOUR)] }, want: send },
  {
    name: 'at the cap: defer until the oldest counted send leaves the window',
    policy: capped,
    facts: { capUsed: [sent('a', NOW - 5 * HOUR)], reserved: [{ id: 'b', at: NOW - HOUR, runStep: 'other' }] },
    want: { action: 'defer', reason: 'frequency_cap', until: NOW - 5 * HOUR + DAY + 1 },
  },
  {
    name: 'at the cap, skip mode: skip without ending the run',
    policy: { ...capped, capMode: 'skip' },
    facts: { capUsed: [sent('a', NOW - 5 * HOUR), sent('b', NOW - HOUR)] },
    want: skip('frequency_cap', false),
  },
  {
    name: 'this message’s own reservation does not count against the cap',
    policy: capped,
    facts: { capUsed: [sent('a', NOW - HOUR)], reserved: [{ id: 'm-1', at: NOW - 1000, runStep: 'x' }] },
    want: send,
  },
  {
    name: 'the cap does not hold transactional mail',
    policy: capped,
    req: { topic: 'transactional' },
    facts: { capUsed: [sent('a', NOW), sent('b', NOW)] },
    want: send,
  },
]

describe('decideSend: the pre-send decision as a pure function of the facts read', () => {
  it.each(cases)('$name', (c) => {
    expect(decideSend(request(c.req), facts(c.facts), c.policy ?? policy, NOW)).toEqual(c.want)
  })

  it('the order of the checks: consent before exits before suppression before the address before the holdout', () => {
    const all = facts({
      granted: false,
      events: [event({ event: 'Order Completed' }), event({ event: ENGAGEMENT_EVENTS.complained })],
      hasAddress: false,
      inGlobalHoldout: true,
    })
    expect(decideSend(request(), all, policy, NOW)).toEqual(skip('consent'))
    expect(decideSend(request(), { ...all, granted: true }, policy, NOW)).toEqual(skip('exit:Order Completed'))
    expect(decideSend(request({ exit: [] }), { ...all, granted: true }, policy, NOW)).toEqual(skip('suppressed'))
    expect(decideSend(request({ exit: [] }), { ...all, granted: true, events: [] }, policy, NOW)).toEqual(skip('no_address'))
  })

  it('every reason the table produces is a documented code (or a documented prefix with what decided)', () => {
    const known = new Set<string>([...SKIP_REASONS, ...DEFER_REASONS])
    for (const c of cases) {
      if (c.want.action !== 'skip' && c.want.action !== 'defer') continue
      const code = c.want.reason.includes(':') ? c.want.reason.split(':')[0]! : c.want.reason
      expect(known.has(code) || (SKIP_REASON_PREFIXES as readonly string[]).includes(code), c.want.reason).toBe(true)
    }
  })
})
