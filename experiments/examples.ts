/**
 * The seed's cart-abandonment timing test, as definitions: a reminder-delay flag whose value an
 * experiment sets (15 min vs 1 h, with a holdout that gets nothing). Used by the benchmark, the
 * tests and the demo, so all three exercise the same shapes.
 */
export const REMINDER_DELAY_FLAG = 'cart_abandonment.reminder_delay'

export const reminderTimingExperiment = {
  key: 'cart-reminder-timing',
  name: 'Cart reminder: 15 min vs 1 h',
  hypothesis: 'A sooner reminder recovers more carts',
  variants: [
    { key: 'h1', weight: 0.4, payload: { flags: { [REMINDER_DELAY_FLAG]: '1h' } } },
    { key: 'm15', weight: 0.4, payload: { flags: { [REMINDER_DELAY_FLAG]: '15m' } } },
    { key: 'holdout', weight: 0.2, holdout: true },
  ],
  primaryMetric: { event: 'Order Completed', kind: 'sum', property: 'revenue', windowDays: 7 },
  guardrailMetrics: [{ event: 'Unsubscribed', inverse: true }],
}

/** VIPs get 15 min, the Nordics 30 min, then the experiment decides, then half get 4 h; else 1 h. */
export const reminderDelayFlag = {
  key: REMINDER_DELAY_FLAG,
  type: 'duration',
  defaultValue: '1h',
  rules: [
    { id: 'vips', segment: 'vip', value: '15m' },
    { id: 'nordics', conditions: [{ attribute: 'country', op: 'in', value: ['NO', 'SE'] }], value: '30m' },
    { id: 'timing', experiment: reminderTimingExperiment.key },
    { id: 'half', percentage: 50, value: '4h' },
  ],
}

/** The reminder's content: the template's own subject against an urgency subject (a variant's payload overrides the send step's subject). */
export const reminderContentExperiment = {
  key: 'cart-reminder-content',
  name: 'Cart reminder: default vs urgency subject',
  hypothesis: 'Urgency in the subject makes reminded shoppers buy more',
  variants: [
    { key: 'default', weight: 0.5 },
    {
      key: 'urgency',
      weight: 0.5,
      payload: { subject: "Last chance, {{ user.first_name | default: 'friend' }}: your cart is saved until tonight" },
    },
  ],
  primaryMetric: { event: 'Order Completed', kind: 'sum', property: 'revenue', windowDays: 7 },
  guardrailMetrics: [{ event: 'Unsubscribed', inverse: true }],
}
