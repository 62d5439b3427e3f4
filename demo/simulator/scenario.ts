import { z } from 'zod'
import { contentVariant, isRegExp, mailKind, probability, range, reminderArm, slug } from './scenarioParts.js'

/**
 * A simulation scenario: who the shoppers are, how they behave, the ground-truth effects of what
 * Nudge sends them, and the races and mistakes to inject. Every knob has a default; `parseScenario({})`
 * is a complete, sensible scenario. Times called "minutes" are *simulated* minutes: they pass at
 * `timeScale.minutesPerSecond` per real second. Nudge itself runs in real time, so its journeys'
 * delays must be short flagged values consistent with the scale (at 10 simulated minutes per
 * second, the default, a "15 min" reminder is a 1.5 s delay and "1 h" is 6 s).
 *
 * `z.toJSONSchema(scenarioSchema, { io: 'input' })` (or `npm run simulate -- --schema`) lists every
 * knob with its description and default.
 */

export const scenarioSchema = z
  .object({
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(1)
      .describe('Seed of every random draw: the same seed gives the same shoppers, events and reactions'),
    runId: slug
      .optional()
      .describe(
        'Namespace of this run’s ids (user ids, message ids, carts). Default: derived from the seed and the start time, so two runs never collide in one Nudge; fix it to replay exactly the same ids',
      ),
    shoppers: z.number().int().min(1).max(1_000_000).default(100).describe('How many synthetic shoppers'),
    timeScale: z
      .object({
        minutesPerSecond: z
          .number()
          .positive()
          .max(100_000)
          .default(10)
          .describe(
            'Simulated minutes per real second (10: a simulated hour in 6 s). Nudge’s own latency (about 0.5 s idle, seconds under load) is multiplied by this too, so keep it low enough that the reminder arms stay apart',
          ),
      })
      .prefault({})
      .describe('Time compression. Events carry real timestamps (now); Nudge’s journeys run in real time'),
    arrivalMinutes: z.number().min(0).default(120).describe('Shoppers arrive uniformly over this many simulated minutes'),

    identity: z
      .object({
        userIdPrefix: slug.default('sim').describe('User ids are <prefix>-<runId>-<n>'),
        emailDomain: z
          .string()
          .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i)
          .default('example.test')
          .describe('Shoppers’ email addresses are <userId>@<domain>'),
        anonymousFirst: probability(0.7, 'Share of shoppers who browse anonymously (anonymousId) before the identify that links the ids'),
      })
      .prefault({})
      .describe('Who the shoppers are'),

    catalog: z
      .object({
        products: z.number().int().min(1).max(100_000).default(40).describe('Products in the synthetic catalog'),
        categories: z.array(slug).min(1).default(['shoes', 'jackets', 'bags', 'hats', 'socks', 'tents']).describe('Product categories'),
        price: range(8, 240, 'Product prices (log-uniform between min and max)'),
        currency: z
          .string()
          .regex(/^[A-Z]{3}$/)
          .default('USD')
          .describe('Currency of every price and order'),
        shopUrl: z.string().url().default('https://shop.example').describe('Base of product, cart and image URLs in events'),
      })
      .prefault({})
      .describe('The shop'),

    behavior: z
      .object({
        sessions: range(1, 3, 'Sessions per shopper'),
        sessionGapMinutes: range(20, 180, 'Simulated minutes between two sessions'),
        thinkMinutes: range(0.2, 3, 'Simulated minutes between two events in a session'),
        pageViews: range(1, 3, 'Page views (Segment page calls) per session'),
        productViews: range(1, 4, 'Product Viewed per session'),
        searchRate: probability(0.4, 'Chance a session has a Products Searched'),
        cartRate: probability(0.6, 'Chance a shopper puts something in a cart (in one of their sessions)'),
        itemsPerCart: range(1, 3, 'Product Added per cart (distinct products)'),
        checkoutInSession: probability(0.3, 'Chance a cart is bought in the same session (never abandoned)'),
        checkoutMinutes: range(1, 8, 'Simulated minutes from the last Product Added to an in-session Order Completed'),
        supportTicketRate: probability(0.05, 'Chance a shopper opens a support ticket (Support Ticket Opened)'),
        readerRate: probability(
          0,
          'Share of shoppers who only read: a page, then a Content Viewed (a post or a video) — no products, no cart',
        ),
        lapsedRate: probability(
          0,
          'Share of shoppers last active long ago: their identify and page carry a timestamp behavior.lapsedDays in the past (inactive since)',
        ),
        lapsedDays: z.number().positive().default(40).describe('How long ago lapsed shoppers were last active (days)'),
        returnAfterCheckout: probability(
          0,
          'Chance a shopper who bought in session comes back for one more page view (a second visit after a purchase)',
        ),
        returnMinutes: range(60, 180, 'Simulated minutes from the in-session purchase to that visit'),
      })
      .prefault({})
      .describe('Sessions, browsing, search, carts, purchases, support'),

    effects: z
      .object({
        baseConversion: probability(
          0.1,
          'Ground truth: chance an abandoned cart is bought anyway (organically). Carts that never get a reminder (holdout) convert at this rate',
        ),
        organicPurchaseMinutes: range(
          240,
          720,
          'When an organic purchase of an abandoned cart happens (simulated minutes after the cart); keep it after the reminder arms so every arm is measured on the same carts',
        ),
        reminderArms: z
          .array(reminderArm)
          .min(1)
          .default([
            { name: 'm15', delayMinutes: 15, lift: 0.08 },
            { name: 'h1', delayMinutes: 60, lift: 0.05 },
          ])
          .describe(
            'Ground truth by what Nudge did: the arm of a cart reminder is read from when it arrived after the cart. Default: a reminder at 15 min converts 8 pp, one at 1 h 5 pp — 15 min beats 1 h by 3 pp. Latency counts: at high compression a second late is many simulated minutes, so keep the arms’ gaps wide in real time',
          ),
        variantPattern: z
          .string()
          .refine(isRegExp, 'must be a regular expression')
          .optional()
          .describe(
            'Optional: a regular expression with one capture group that finds the experiment variant in a mail (raw HTML and text), e.g. data-variant="([^"]+)" when the template renders {{ experiment.variant }}. A captured arm name decides the arm; otherwise the arm is read from the timing',
          ),
        reminderSubjectPattern: z
          .string()
          .refine(isRegExp, 'must be a regular expression')
          .default('cart')
          .describe(
            'A received mail whose subject matches this (case-insensitive), or that names one of the shopper’s carts (cart_id in a link), is a cart reminder',
          ),
        contentVariants: z
          .array(contentVariant)
          .default([{ name: 'urgency', subjectPattern: 'last chance|ends tonight', revenueMultiplier: 1.2 }])
          .describe(
            'Ground truth for content experiments: a subject pattern per variant and what it does to revenue per recipient (a mail matching none is "default", multiplier 1)',
          ),
        mailKinds: z
          .array(mailKind)
          .default([])
          .describe(
            'Ground truth for other journeys’ mail, by subject: a shopper answers a mail of a kind with their own draws for that kind (shopper and kind decide them, not the order mail arrives in), so what they would do under each experiment arm is known in advance. Mail matching no kind uses engagement.purchaseGivenClick',
          ),
      })
      .prefault({})
      .describe('Ground-truth effects — they depend only on what Nudge sent and when'),

    engagement: z
      .object({
        open: probability(0.5, 'Chance a received mail is opened (GET of its open pixel)'),
        clickGivenOpen: probability(0.4, 'Chance an opened mail is clicked (GET of a /t/c/ link; the cart link of a reminder)'),
        unsubscribeGivenOpen: probability(
          0.02,
          'Chance an opened mail that is not clicked gets a one-click unsubscribe (POST List-Unsubscribe=One-Click to its List-Unsubscribe URL)',
        ),
        purchaseGivenClick: probability(
          0.1,
          'Chance a click on a mail that is not a cart reminder leads to a purchase (of the product last viewed). For reminders this is derived from the arm’s lift: lift / ((1 − baseConversion) · open · clickGivenOpen)',
        ),
        openDelayMinutes: range(2, 45, 'Simulated minutes from delivery to the open'),
        clickDelayMinutes: range(0.5, 5, 'Simulated minutes from the open to the click'),
        purchaseDelayMinutes: range(1, 10, 'Simulated minutes from the click to the purchase'),
        humanFloorMs: z
          .object({
            open: z
              .number()
              .int()
              .min(0)
              .default(2500)
              .describe('An open is never sooner than this many real ms after delivery (Nudge flags opens within 2 s as prefetch)'),
            click: z
              .number()
              .int()
              .min(0)
              .default(11_000)
              .describe('A click is never sooner than this many real ms after delivery (Nudge flags clicks within 10 s as scanners)'),
          })
          .prefault({})
          .describe('Real-time floors so simulated people are not classified as machines; 0 for fast tests'),
        watchMinutes: z
          .number()
          .min(0)
          .default(240)
          .describe('A shopper watches their mailbox for this many simulated minutes after their last planned event'),
        watchFromArrivalMinutes: z
          .number()
          .min(0)
          .default(0)
          .describe(
            '…and at least this many simulated minutes after arriving (for journeys whose delay outlasts the shopper’s last event, e.g. browse abandonment)',
          ),
        userAgent: z
          .string()
          .min(1)
          .default('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36')
          .describe('User-Agent of opens, clicks and unsubscribes'),
      })
      .prefault({})
      .describe('How shoppers respond to the mail Nudge sends them'),

    races: z
      .object({
        purchaseBeforeReminder: z
          .object({
            rate: probability(0.03, 'Share of abandoned carts bought just before the reminder is due'),
            dueMinutes: z
              .number()
              .positive()
              .default(15)
              .describe('When the reminder is due (simulated minutes after the cart was stored): the earliest arm’s delay'),
            leadMs: z.number().int().min(0).default(5).describe('How many real ms before it is due the purchase is sent'),
          })
          .prefault({}),
        duplicateMessageId: z
          .object({
            rate: probability(0.01, 'Share of events sent a second time with the same messageId (a client retry)'),
            afterMinutes: range(0, 2, 'Simulated minutes after the original'),
          })
          .prefault({}),
        duplicateCart: z
          .object({
            rate: probability(0.03, 'Share of carts whose Product Added is sent twice (new messageId, same cart_id: a double click)'),
            afterMinutes: range(0.05, 2, 'Simulated minutes after the original'),
          })
          .prefault({}),
        optOutMidJourney: z
          .object({
            rate: probability(
              0.02,
              'Share of abandoned carts whose shopper withdraws marketing consent before the reminder (identify with context.consent.categoryPreferences)',
            ),
            category: z
              .string()
              .min(1)
              .default('marketing')
              .describe(
                'The CMP category set to false (mapped by Nudge’s CONSENT_CATEGORY_MAP; advertising and email map to marketing too)',
              ),
            atFraction: range(0.2, 0.8, 'When, as a fraction of races.purchaseBeforeReminder.dueMinutes after the cart'),
          })
          .prefault({}),
        staleEvent: z
          .object({
            rate: probability(
              0.02,
              'Share of shoppers who also send a stale cart: Product Viewed + Product Added for a new cart with a timestamp days in the past',
            ),
            daysAgo: z.number().positive().default(30).describe('How old the stale events are'),
          })
          .prefault({}),
        testAccount: z
          .object({
            rate: probability(0.02, 'Share of shoppers that are test accounts (capped by how many ids are given; one shopper per id)'),
            ids: z
              .array(z.string().min(1).max(256))
              .default([])
              .describe('Test account user ids — those in Nudge’s TEST_USER_IDS. Empty: no test traffic'),
          })
          .prefault({}),
      })
      .prefault({})
      .describe('Races and mistakes that cause false triggers, injected at these rates'),

    http: z
      .object({
        batchMaxEvents: z.number().int().min(1).max(500).default(100).describe('Most events in one /v1/batch request'),
        lingerMs: z.number().int().min(0).default(20).describe('How long events wait to share a batch (race events never wait)'),
        maxRetries: z
          .number()
          .int()
          .min(0)
          .default(8)
          .describe('Retries of a request that failed with 429, 503 or a network error (Retry-After honoured)'),
        timeoutMs: z.number().int().positive().default(30_000).describe('Timeout of one HTTP request'),
      })
      .prefault({})
      .describe('Ingestion through the public API'),

    mailbox: z
      .object({
        mode: z
          .enum(['all', 'recipient'])
          .default('all')
          .describe(
            'all: one reader lists the whole mailbox (GET /api/messages?limit=) each interval and hands messages to their recipients — one query per interval whatever the number of shoppers. recipient: each watching shopper reads GET /api/messages?to=<email> (every listing scans the mailbox table, so this costs a query per shopper per interval)',
          ),
        pollMs: z.number().int().min(10).default(500).describe('How often the mailbox is read (recipient mode: each shopper’s, at most)'),
        concurrency: z
          .number()
          .int()
          .min(1)
          .max(64)
          .default(2)
          .describe('Recipient mode and the final sweep: mailbox reads in flight at once (the embedded store answers one query at a time)'),
        finalSweep: z
          .boolean()
          .default(true)
          .describe(
            'After the run, read every shopper’s mailbox once more and count mail that arrived after they stopped watching (mail.missedAfterWatch: journeys slower than engagement.watchMinutes)',
          ),
      })
      .prefault({})
      .describe('Reading the capture mailbox (admin API, read only)'),
  })
  .superRefine((s, ctx) => {
    const arms = s.effects.reminderArms
    const names = new Set<string>()
    arms.forEach((a, i) => {
      if (names.has(a.name))
        ctx.addIssue({ code: 'custom', path: ['effects', 'reminderArms', i, 'name'], message: `duplicate arm "${a.name}"` })
      names.add(a.name)
      if (a.name === 'none')
        ctx.addIssue({ code: 'custom', path: ['effects', 'reminderArms', i, 'name'], message: '"none" names carts without a reminder' })
      if (i > 0 && a.delayMinutes <= arms[i - 1]!.delayMinutes)
        ctx.addIssue({
          code: 'custom',
          path: ['effects', 'reminderArms', i, 'delayMinutes'],
          message: 'arms must be in increasing delayMinutes',
        })
      const funnel = s.engagement.open * s.engagement.clickGivenOpen
      if (reminderConversion(s, a.lift) > funnel + 1e-12)
        ctx.addIssue({
          code: 'custom',
          path: ['effects', 'reminderArms', i, 'lift'],
          message: `a lift of ${a.lift} needs ${(reminderConversion(s, a.lift) * 100).toFixed(1)}% of reminded carts to buy through a click, but only ${(funnel * 100).toFixed(1)}% click (engagement.open × clickGivenOpen)`,
        })
    })
    if (s.effects.baseConversion >= 1 && arms.some((a) => a.lift > 0))
      ctx.addIssue({ code: 'custom', path: ['effects', 'baseConversion'], message: 'must be below 1 when an arm has a lift' })
    const variants = new Set<string>()
    s.effects.contentVariants.forEach((v, i) => {
      if (variants.has(v.name) || v.name === 'default')
        ctx.addIssue({
          code: 'custom',
          path: ['effects', 'contentVariants', i, 'name'],
          message: `duplicate or reserved variant "${v.name}"`,
        })
      variants.add(v.name)
    })
    if (s.behavior.readerRate + s.behavior.lapsedRate > 1)
      ctx.addIssue({ code: 'custom', path: ['behavior', 'lapsedRate'], message: 'readerRate + lapsedRate must not exceed 1' })
    const kinds = new Set<string>()
    s.effects.mailKinds.forEach((k, i) => {
      if (kinds.has(k.name))
        ctx.addIssue({ code: 'custom', path: ['effects', 'mailKinds', i, 'name'], message: `duplicate kind "${k.name}"` })
      kinds.add(k.name)
    })
    if (new Set(s.races.testAccount.ids).size !== s.races.testAccount.ids.length)
      ctx.addIssue({ code: 'custom', path: ['races', 'testAccount', 'ids'], message: 'ids must be distinct' })
  })

export type Scenario = z.output<typeof scenarioSchema>
export type ScenarioInput = z.input<typeof scenarioSchema>
export type ReminderArm = Scenario['effects']['reminderArms'][number]

/** The scenario with every default filled in; throws a readable error naming each bad knob. */
export function parseScenario(input: unknown = {}): Scenario {
  const r = scenarioSchema.safeParse(input ?? {})
  if (r.success) return r.data
  throw new Error(`Invalid scenario:\n${r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`)
}

/** Chance that an abandoned cart not bought organically is bought because of a reminder with this lift. */
export function reminderConversion(s: Pick<Scenario, 'effects'>, lift: number): number {
  const base = s.effects.baseConversion
  return base >= 1 ? 0 : lift / (1 - base)
}

/** The purchase-after-click probability that realizes an arm's lift through the open → click funnel. */
export function reminderPurchaseGivenClick(s: Pick<Scenario, 'effects' | 'engagement'>, lift: number): number {
  const funnel = s.engagement.open * s.engagement.clickGivenOpen
  return funnel <= 0 ? 0 : Math.min(1, reminderConversion(s, lift) / funnel)
}

/** Real milliseconds for simulated minutes at the scenario's scale. */
export function simMinutesToMs(s: Pick<Scenario, 'timeScale'>, minutes: number): number {
  return (minutes / s.timeScale.minutesPerSecond) * 1000
}

/** Simulated minutes for real milliseconds at the scenario's scale. */
export function msToSimMinutes(s: Pick<Scenario, 'timeScale'>, ms: number): number {
  return (ms / 1000) * s.timeScale.minutesPerSecond
}
