import { Random } from './random.js'
import { type Scenario, reminderConversion, reminderPurchaseGivenClick } from './scenario.js'
import type { ArmTruth } from './modelTypes.js'

/** Ground truth: what each arm is worth by construction, and how a received mail is classified. */

/** The configured truth per arm, plus `none` (never reminded: the base rate). */
export function expectedArms(s: Scenario): ArmTruth[] {
  const base = s.effects.baseConversion
  return [
    ...s.effects.reminderArms.map((a) => ({
      name: a.name,
      lift: a.lift,
      expectedConversion: base + a.lift,
      reminderConversion: reminderConversion(s, a.lift),
      purchaseGivenClick: reminderPurchaseGivenClick(s, a.lift),
    })),
    { name: 'none', lift: 0, expectedConversion: base, reminderConversion: 0, purchaseGivenClick: 0 },
  ]
}

/** The arm a reminder belongs to, from how long after the cart it arrived (simulated minutes): the last arm whose nominal delay has passed. */
export function armOf(s: Scenario, delayMinutes: number): string {
  const arms = s.effects.reminderArms
  let arm = arms[0]!
  for (const a of arms) if (delayMinutes >= a.delayMinutes) arm = a
  return arm.name
}

/** The scenario's kind of a mail that is not a cart reminder, by its subject (the first matching kind), or undefined. */
export function mailKindOf(s: Scenario, subject: string): Scenario['effects']['mailKinds'][number] | undefined {
  return s.effects.mailKinds.find((k) => new RegExp(k.subjectPattern, 'i').test(subject))
}

/** A shopper's draws for one kind of mail: the same whenever (and whichever run) it arrives — their potential answer. */
export function mailKindDraws(
  s: Pick<Scenario, 'seed'>,
  index: number,
  kind: string,
): { open: number; click: number; buy: number; unsubscribe: number } {
  const rng = Random.for(s.seed, 'mail-kind', index, kind)
  return { open: rng.next(), click: rng.next(), buy: rng.next(), unsubscribe: rng.next() }
}

export function contentVariantOf(s: Scenario, subject: string): { name: string; revenueMultiplier: number } {
  const v = s.effects.contentVariants.find((c) => new RegExp(c.subjectPattern, 'i').test(subject))
  return v ? { name: v.name, revenueMultiplier: v.revenueMultiplier } : { name: 'default', revenueMultiplier: 1 }
}
