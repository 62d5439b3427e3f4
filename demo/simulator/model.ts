import type { RaceKind, SimEvent, SimulationPlan } from './modelTypes.js'

/**
 * The shoppers as a pure model: no HTTP, no clocks. `planSimulation` turns a scenario into every
 * shopper's plan — their profile, a timed list of steps (each a few Segment events) and their
 * carts with the random draws that decide how they will answer a reminder. `reactToMail` decides
 * what a shopper does with a mail Nudge sent them, from the plan, what has happened so far and the
 * mail alone. Same seed → same plans → same event sequence; the reactions depend on nothing but
 * those draws and what Nudge did (which mail, when).
 *
 * This module is the model's front door; its parts live beside it: the shapes (modelTypes.ts), the
 * shop and its people (people.ts), planning (planShopper.ts), orders (orders.ts), the ground truth
 * (groundTruth.ts) and the reactions (reactToMail.ts).
 */
export * from './modelTypes.js'
export { makeCatalog, personaOf, testAccounts, userIdOf } from './people.js'
export { planShopper, planSimulation } from './planShopper.js'
export { orderProperties } from './orders.js'
export { armOf, contentVariantOf, expectedArms, mailKindDraws, mailKindOf } from './groundTruth.js'
export { reactToMail } from './reactToMail.js'

/** Every planned event in the order it is due, with the shopper and the step it belongs to (deterministic). */
export function plannedEventSequence(
  plan: SimulationPlan,
): { at: number; shopper: number; label: string; race?: RaceKind; event: SimEvent }[] {
  const out: { at: number; shopper: number; label: string; race?: RaceKind; event: SimEvent; order: number }[] = []
  for (const sh of plan.shoppers)
    sh.steps.forEach((step, n) => {
      for (const event of step.events)
        out.push({
          at: sh.arrival + step.at,
          shopper: sh.index,
          label: step.label,
          ...(step.race ? { race: step.race } : {}),
          event,
          order: n,
        })
    })
  out.sort((a, b) => a.at - b.at || a.shopper - b.shopper || a.order - b.order)
  return out.map(({ order: _order, ...rest }) => rest)
}

/** A stream id for one run (used when the scenario does not fix `runId`). */
export function defaultRunId(seed: number, now: number): string {
  return `r${seed}-${now.toString(36)}`
}
