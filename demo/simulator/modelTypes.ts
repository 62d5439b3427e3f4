/**
 * The simulator's model as data: the events it sends, the shoppers' plans, the mail they receive and
 * what they do with it, and the races and false triggers it counts. No behaviour beyond naming.
 */

/** A Segment message as the simulator sends it; the runner adds `timestamp` when it is sent. */
export interface SimEvent {
  type: 'track' | 'identify' | 'page'
  messageId: string
  userId?: string
  anonymousId?: string
  event?: string
  name?: string
  properties?: Record<string, unknown>
  traits?: Record<string, unknown>
  context?: Record<string, unknown>
}

/** The summary's name for an event: the track event's name, else its type (`page`, `identify`). */
export function eventLabel(e: Pick<SimEvent, 'type' | 'event'>): string {
  return e.type === 'track' ? (e.event ?? 'track') : e.type
}

export interface Product {
  product_id: string
  name: string
  category: string
  price: number
  image_url: string
  url: string
}

export interface Profile {
  userId: string
  anonymousId: string
  email: string
  firstName: string
  locale: string
  timezone: string
  country: string
  /** A test account (its id is one of the scenario's `races.testAccount.ids`). */
  test: boolean
}

export type RaceKind = 'purchaseBeforeReminder' | 'duplicateMessageId' | 'duplicateCart' | 'optOutMidJourney' | 'staleEvent' | 'testAccount'
export const RACE_KINDS: readonly RaceKind[] = [
  'purchaseBeforeReminder',
  'duplicateMessageId',
  'duplicateCart',
  'optOutMidJourney',
  'staleEvent',
  'testAccount',
]

/**
 * What a shopper can see that should not have happened. `…After…` compare with when the shopper
 * acted (the event's timestamp); `…AfterStored…` with when Nudge acknowledged it (it had it then).
 */
export type FalseTriggerKind =
  | 'reminderAfterPurchase'
  | 'reminderAfterStoredPurchase'
  | 'duplicateReminder'
  | 'reminderForStaleCart'
  | 'mailAfterOptOut'
  | 'mailAfterStoredOptOut'
  | 'mailAfterUnsubscribe'
  | 'testMailUnflagged'
export const FALSE_TRIGGER_KINDS: readonly FalseTriggerKind[] = [
  'reminderAfterPurchase',
  'reminderAfterStoredPurchase',
  'duplicateReminder',
  'reminderForStaleCart',
  'mailAfterOptOut',
  'mailAfterStoredOptOut',
  'mailAfterUnsubscribe',
  'testMailUnflagged',
]

export interface PlanStep {
  /** Simulated minutes after the shopper arrived. */
  at: number
  label: 'identify' | 'browse' | 'search' | 'cart' | 'checkout' | 'support' | 'organic-purchase' | 'race' | 'content' | 'lapsed' | 'return'
  events: SimEvent[]
  race?: RaceKind
  /** Sent again exactly as first sent (same messageId and timestamp): a client retry. */
  resend?: boolean
  /** Skipped unless this cart is still open (a purchase of a cart already bought is not made twice). */
  requiresOpenCart?: string
  /** Timed from when this cart's first Product Added was stored: + `minutes` (simulated) − `leadMs` (real). */
  anchor?: { cartId: string; minutes: number; leadMs: number }
  /** Events carry a timestamp this many days in the past (a stale race, or a lapsed shopper's history). */
  staleDays?: number
  /** Sent at once, not held for a shared batch (timing races). */
  immediate?: boolean
  /** What the step does to the shopper's state once stored. */
  marks?: { cartAdded?: string; cartPurchased?: string; optedOut?: boolean }
}

export interface CartPlan {
  cartId: string
  orderId: string
  products: Product[]
  subtotal: number
  /** `checkout`: bought in the same session; `abandoned`: left for a reminder; `stale`: injected, days old. */
  kind: 'checkout' | 'abandoned' | 'stale'
  /** Abandoned carts: bought anyway (ground truth base conversion), at `organicAt`. */
  organic: boolean
  organicAt?: number
  /** Uniform draws that decide how a reminder for this cart is answered (potential outcomes: the same draws whatever the arm). */
  draws: { open: number; click: number; buy: number; unsubscribe: number }
  races: RaceKind[]
}

export interface ShopperPlan {
  index: number
  profile: Profile
  /** Simulated minutes after the run started. */
  arrival: number
  steps: PlanStep[]
  carts: CartPlan[]
  races: RaceKind[]
  lastViewed?: Product
  /** What a purchase after a journey's mail buys: the product last viewed, else one picked for the shopper. */
  mailProduct?: Product
  /** `reader`: reads content only; `lapsed`: everything they did, long ago. Absent: a shopper who browses products. */
  persona?: Persona
  /** Simulated minutes after arrival of the second visit after an in-session purchase (`behavior.returnAfterCheckout`). */
  returnVisit?: number
  /** Simulated minutes after arrival when the shopper stops watching their mailbox. */
  watchUntil: number
}

export type Persona = 'reader' | 'lapsed'

export interface SimulationPlan {
  runId: string
  catalog: Product[]
  shoppers: ShopperPlan[]
}

export interface ArmTruth {
  name: string
  /** Percentage points over the base conversion (0 for `none`). */
  lift: number
  /** What the arm's abandoned carts convert at, by construction: base + lift. */
  expectedConversion: number
  /** Chance a reminded cart that would not convert anyway converts because of the reminder. */
  reminderConversion: number
  /** The purchase-after-click probability that realizes it through open → click. */
  purchaseGivenClick: number
}

// ── Mail ─────────────────────────────────────────────────────────────────────────────────────────

/** A captured mail as the shopper sees it (parsed from the raw MIME; see engagement.ts). */
export interface ReceivedMail {
  messageId: string
  subject: string
  /** When the mailbox received it (epoch ms). */
  receivedAt: number
  /** Marked `X-Nudge-Test: 1`. */
  test: boolean
  /** Cart ids the mail's links name (`cart_id=`). */
  cartIds: string[]
  pixelUrl?: string
  /** Tracked links (`/t/c/…`) and, where readable from the token, where they lead. */
  links: { url: string; target?: string }[]
  /** The http(s) List-Unsubscribe URL (one-click). */
  unsubscribeUrl?: string
  /** The experiment variant the mail shows, when the scenario's `effects.variantPattern` finds one. */
  variant?: string
}

/**
 * What has happened to a shopper so far, in real epoch ms: when they acted (the event's timestamp)
 * and when Nudge acknowledged it (stored). A cart's journey clock starts when its trigger was stored.
 */
export interface ShopperState {
  carts: Map<string, { addedAt?: number; purchasedAt?: number; purchaseStoredAt?: number; reminders: string[] }>
  optedOutAt?: number
  optOutStoredAt?: number
  unsubscribedAt?: number
}

export interface MailReaction {
  ordinal: number
  kind: 'reminder' | 'other'
  cartId?: string
  arm?: string
  delayMinutes?: number
  contentVariant: string
  /** The scenario's kind of a mail that is not a cart reminder (`effects.mailKinds`), when one matches. */
  mailKind?: string
  /** Whether this is the first reminder of a clean abandoned cart (counted in the arm's ground truth). */
  countsForArm: boolean
  falseTriggers: FalseTriggerKind[]
  /** Real ms after `receivedAt`. */
  open?: { afterMs: number }
  click?: { afterMs: number; link: number }
  unsubscribe?: { afterMs: number }
  purchase?: { afterMs: number; cause: 'reminder' | 'organic' | 'mail'; cartId?: string; revenue: number; event: SimEvent }
}
