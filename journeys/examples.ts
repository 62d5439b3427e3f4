import { REMINDER_DELAY_FLAG, reminderTimingExperiment } from '../experiments/examples.js'

/**
 * The seed's journeys as definitions (section 3 of the domain guide). Used by the demo, the tests
 * (with shorter waits) and as starting points. Each names what it needs: the timing experiment and
 * flag (experiments/examples.ts), the browse experiment, the delay flags and the inactive segment below.
 * Every delay is a duration flag: an operator (or the demo, which compresses them) changes a
 * journey's timing without a new version of the journey.
 */

export const BROWSE_DELAY_FLAG = 'browse_abandonment.delay'
export const CONTENT_DELAY_FLAG = 'content_follow_up.delay'

/** The delays of browse abandonment (72 h) and content follow-up (2 h), as duration flags. */
export const journeyDelayFlags = [
  {
    key: BROWSE_DELAY_FLAG,
    type: 'duration',
    defaultValue: '72h',
    description: 'Browse abandonment: how long after a product view, with no purchase, the offer or social proof goes out',
  },
  {
    key: CONTENT_DELAY_FLAG,
    type: 'duration',
    defaultValue: '2h',
    description: 'Content follow-up: how long after a post or video view the related products go out',
  },
] as const

/** Cart abandonment: a reminder with product images and a code 15 min (flag / timing experiment) after a cart is not checked out; that cart's purchase ends it. */
export const cartAbandonment = {
  id: 'cart-abandonment',
  name: 'Cart abandonment',
  description: 'Reminder with product images and a discount code when a cart is not checked out',
  trigger: { type: 'event', event: 'Product Added' },
  entry: { consent: 'marketing', reentry: 'always', correlationKey: 'cart_id' },
  exit: [{ type: 'event', event: 'Order Completed', match: 'correlation' }],
  priority: 80,
  steps: [
    { id: 'timing', type: 'experiment', experiment: reminderTimingExperiment.key },
    { id: 'wait', type: 'delay', flag: { key: REMINDER_DELAY_FLAG, default: '15m' } },
    { id: 'reminder', type: 'send', template: 'cart-reminder' },
  ],
} as const

export const browseExperiment = {
  key: 'browse-offer-vs-proof',
  name: 'Browse abandonment: tailored offer vs social proof',
  variants: [
    { key: 'offer', weight: 0.5 },
    { key: 'proof', weight: 0.5 },
  ],
  primaryMetric: { event: 'Order Completed', kind: 'conversion', windowDays: 7 },
  guardrailMetrics: [{ event: 'Unsubscribed', inverse: true }],
}

/** Browse abandonment: viewed, not purchased after 72 h → a tailored offer or social proof (an experiment decides). */
export const browseAbandonment = {
  id: 'browse-abandonment',
  name: 'Browse abandonment',
  trigger: { type: 'event', event: 'Product Viewed' },
  entry: { consent: 'marketing', reentry: 'cooldown', cooldown: '7d' },
  exit: [{ type: 'event', event: 'Order Completed', match: 'user' }],
  priority: 40,
  steps: [
    { id: 'wait', type: 'delay', flag: { key: BROWSE_DELAY_FLAG, default: '72h' } },
    { id: 'split', type: 'experiment', experiment: browseExperiment.key, branches: { offer: 'offer', proof: 'proof' } },
    { id: 'offer', type: 'send', template: 'browse-offer', next: 'done' },
    { id: 'proof', type: 'send', template: 'browse-social-proof' },
    { id: 'done', type: 'exit' },
  ],
} as const

export const inactiveSegment = {
  id: 'inactive-30d',
  name: 'Inactive for 30 days',
  rule: { computed: { property: 'days_inactive', op: 'gte', value: 30 } },
}

/** Re-engagement: inactive 30 days → content from past behaviour (favourite category). */
export const reengagement = {
  id: 're-engagement',
  name: 'Re-engagement',
  trigger: { type: 'segment_entry', segment: inactiveSegment.id },
  entry: { consent: 'marketing', reentry: 'cooldown', cooldown: '30d' },
  exit: [{ type: 'segment_exit', segment: inactiveSegment.id }],
  priority: 20,
  steps: [{ id: 'win-back', type: 'send', template: 'reengagement' }],
} as const

/** Post-purchase loyalty: a repeat visit within 30 days of a purchase → a loyalty offer. */
export const postPurchaseLoyalty = {
  id: 'post-purchase-loyalty',
  name: 'Post-purchase loyalty',
  trigger: { type: 'event', event: 'Order Completed' },
  entry: { consent: 'marketing', reentry: 'cooldown', cooldown: '30d' },
  priority: 60,
  steps: [
    { id: 'visit', type: 'wait', for: { event: 'page', match: 'user' }, timeout: '30d', onEvent: 'offer', onTimeout: 'done' },
    { id: 'offer', type: 'send', template: 'loyalty-offer', next: 'done' },
    { id: 'done', type: 'exit' },
  ],
} as const

/** Content follow-up: viewed a post or video → related products. */
export const contentFollowUp = {
  id: 'content-follow-up',
  name: 'Content follow-up',
  trigger: { type: 'event', event: 'Content Viewed', where: [{ path: 'type', op: 'in', value: ['post', 'video'] }] },
  entry: { consent: 'marketing', reentry: 'cooldown', cooldown: '3d' },
  exit: [{ type: 'event', event: 'Order Completed', match: 'user' }],
  priority: 30,
  steps: [
    { id: 'wait', type: 'delay', flag: { key: CONTENT_DELAY_FLAG, default: '2h' } },
    { id: 'related', type: 'send', template: 'related-products' },
  ],
} as const

export const exampleJourneys = [cartAbandonment, browseAbandonment, reengagement, postPurchaseLoyalty, contentFollowUp]
