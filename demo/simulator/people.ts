import { Random } from './random.js'
import type { Scenario } from './scenario.js'
import type { Persona, Product } from './modelTypes.js'

/** The synthetic shop and its people: the catalog, names and places, test accounts, personas. */

const ADJECTIVES = ['Trail', 'Summit', 'Urban', 'Coastal', 'Alpine', 'Desert', 'Harbor', 'Forest', 'Canyon', 'Nordic', 'Meadow', 'Ridge']
const NOUNS: Record<string, string[]> = {
  shoes: ['Runner', 'Hiker', 'Sneaker', 'Boot'],
  jackets: ['Shell', 'Parka', 'Windbreaker', 'Fleece'],
  bags: ['Daypack', 'Tote', 'Duffel', 'Sling'],
  hats: ['Cap', 'Beanie', 'Sun Hat', 'Bucket Hat'],
  socks: ['Crew Socks', 'Trail Socks', 'Wool Socks'],
  tents: ['Tent', 'Tarp', 'Bivy'],
}
export const FIRST_NAMES = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Margaret',
  'Linus',
  'Radia',
  'Tim',
  'Hedy',
  'Claude',
  'Katherine',
  'John',
]
// No NO/SE: the seed's reminder flag gives the Nordics their own delay before the experiment decides.
export const LOCALES = [
  { locale: 'en-US', timezone: 'America/New_York', country: 'US' },
  { locale: 'en-US', timezone: 'America/Los_Angeles', country: 'US' },
  { locale: 'en-GB', timezone: 'Europe/London', country: 'GB' },
  { locale: 'de-DE', timezone: 'Europe/Berlin', country: 'DE' },
  { locale: 'fr-FR', timezone: 'Europe/Paris', country: 'FR' },
  { locale: 'es-ES', timezone: 'Europe/Madrid', country: 'ES' },
  { locale: 'en-AU', timezone: 'Australia/Sydney', country: 'AU' },
]
export const PAGES = [
  { name: 'Home', path: '/' },
  { name: 'Sale', path: '/sale' },
  { name: 'New Arrivals', path: '/new' },
  { name: 'Lookbook', path: '/lookbook' },
]
export const POSTS = [
  { type: 'post', title: 'Layering for a wet hike', category: 'jackets' },
  { type: 'video', title: 'Pitching a tent in the wind', category: 'tents' },
  { type: 'post', title: 'Breaking in new boots', category: 'shoes' },
  { type: 'video', title: 'Packing a daypack', category: 'bags' },
]
export const TICKET_SUBJECTS = [
  'Where is my order?',
  'Size exchange',
  'Discount code not working',
  'Damaged item',
  'Change delivery address',
]

export const round2 = (n: number) => Math.round(n * 100) / 100

export function makeCatalog(s: Scenario): Product[] {
  const rng = Random.for(s.seed, 'catalog')
  const { min, max } = s.catalog.price
  const base = s.catalog.shopUrl.replace(/\/+$/, '')
  const out: Product[] = []
  for (let i = 0; i < s.catalog.products; i++) {
    const category = s.catalog.categories[i % s.catalog.categories.length]!
    const nouns = NOUNS[category] ?? [category[0]!.toUpperCase() + category.slice(1)]
    const id = `p-${String(i + 1).padStart(4, '0')}`
    const raw = min > 0 ? Math.exp(rng.uniform(Math.log(min), Math.log(Math.max(max, min)))) : rng.uniform(min, max)
    const price = Math.max(0.99, Math.round(raw) - 0.01)
    out.push({
      product_id: id,
      name: `${rng.pick(ADJECTIVES)} ${rng.pick(nouns)}`,
      category,
      price: round2(price),
      image_url: `${base}/img/${id}.jpg`,
      url: `${base}/p/${id}`,
    })
  }
  return out
}

/** Which shopper indexes are test accounts, and with which id (a scenario-level draw). */
export function testAccounts(s: Scenario): Map<number, string> {
  const ids = s.races.testAccount.ids
  const k = Math.min(ids.length, Math.round(s.races.testAccount.rate * s.shoppers))
  const rng = Random.for(s.seed, 'test-accounts')
  const chosen = new Map<number, string>()
  while (chosen.size < k) {
    const i = rng.int(0, s.shoppers - 1)
    if (!chosen.has(i)) chosen.set(i, ids[chosen.size]!)
  }
  return chosen
}

export function userIdOf(s: Scenario, runId: string, index: number): string {
  return `${s.identity.userIdPrefix}-${runId}-${index}`
}

/** A reader or a lapsed shopper (their own stream: the other shoppers' plans do not change with these rates), or undefined. */
export function personaOf(s: Scenario, index: number): Persona | undefined {
  const { readerRate, lapsedRate } = s.behavior
  if (readerRate + lapsedRate <= 0) return undefined
  const u = Random.for(s.seed, 'persona', index).next()
  return u < readerRate ? 'reader' : u < readerRate + lapsedRate ? 'lapsed' : undefined
}
