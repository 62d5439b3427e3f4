import { Random } from './random.js'
import type { Scenario } from './scenario.js'
import type { Persona, Product, Profile, RaceKind, SimEvent } from './modelTypes.js'
import { FIRST_NAMES, LOCALES, personaOf, userIdOf } from './people.js'

export type Range = { min: number; max: number }

/**
 * Who a shopper is (profile, arrival, whether identified yet) and the events they send, numbered in
 * the order they are made. The constructor's draws come first in the shopper's stream, in this order.
 */
export class ShopperEvents {
  readonly s: Scenario
  readonly runId: string
  readonly catalog: readonly Product[]
  readonly index: number
  readonly rng: Random
  readonly b: Scenario['behavior']
  readonly profile: Profile
  readonly arrival: number
  readonly shopUrl: string
  readonly persona: Persona | undefined
  identified: boolean
  t = 0
  private seq = 0
  protected readonly races: RaceKind[]

  constructor(s: Scenario, runId: string, catalog: readonly Product[], index: number, testId?: string) {
    this.s = s
    this.runId = runId
    this.catalog = catalog
    this.index = index
    this.rng = Random.for(s.seed, 'shopper', index)
    this.b = s.behavior
    const userId = testId ?? userIdOf(s, runId, index)
    const where = this.rng.pick(LOCALES)
    this.profile = {
      userId,
      anonymousId: `anon-${runId}-${index}-${this.rng.hex(8)}`,
      email: `${userId.replace(/[^A-Za-z0-9._+-]/g, '_')}@${s.identity.emailDomain}`,
      firstName: this.rng.pick(FIRST_NAMES),
      ...where,
      test: testId !== undefined,
    }
    this.arrival = this.rng.uniform(0, s.arrivalMinutes)
    this.shopUrl = s.catalog.shopUrl.replace(/\/+$/, '')
    this.identified = !this.rng.chance(s.identity.anonymousFirst)
    this.persona = personaOf(s, index)
    if (this.persona) this.identified = true
    this.races = testId !== undefined ? ['testAccount'] : []
  }

  within(r: Range): number {
    return this.rng.uniform(r.min, r.max)
  }

  count(r: Range): number {
    return this.rng.int(Math.round(r.min), Math.round(r.max))
  }

  protected messageId(): string {
    return `${this.runId}-${this.index}-${this.seq++}`
  }

  protected ids() {
    return this.identified
      ? { userId: this.profile.userId, anonymousId: this.profile.anonymousId }
      : { anonymousId: this.profile.anonymousId }
  }

  protected readonly track = (event: string, properties: Record<string, unknown>): SimEvent => ({
    type: 'track',
    messageId: this.messageId(),
    ...this.ids(),
    event,
    properties,
  })

  protected identify(): SimEvent {
    const { profile } = this
    return {
      type: 'identify',
      messageId: this.messageId(),
      userId: profile.userId,
      anonymousId: profile.anonymousId,
      traits: {
        email: profile.email,
        first_name: profile.firstName,
        locale: profile.locale,
        timezone: profile.timezone,
        country: profile.country,
        currency: this.s.catalog.currency,
      },
    }
  }

  protected pageEvent(page: { name: string; path: string }): SimEvent {
    return {
      type: 'page',
      messageId: this.messageId(),
      ...this.ids(),
      name: page.name,
      properties: { path: page.path, url: `${this.shopUrl}${page.path}`, title: page.name },
    }
  }
}
