import { z } from 'zod'

/** The building blocks of the scenario schema (scenario.ts): probabilities, ranges, names, and the per-arm, per-kind and per-variant ground truth. */

export const probability = (def: number, description: string) => z.number().min(0).max(1).default(def).describe(description)

/** A uniform range `{min, max}` with defaults. */
export function range(defMin: number, defMax: number, description: string) {
  return z
    .object({ min: z.number().min(0).default(defMin), max: z.number().min(0).default(defMax) })
    .refine((r) => r.min <= r.max, { message: 'min must not exceed max', path: ['max'] })
    .prefault({})
    .describe(description)
}

export const slug = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/, 'letters, digits, _ . - (at most 40)')

export const isRegExp = (s: string) => {
  try {
    new RegExp(s, 'i')
    return true
  } catch {
    return false
  }
}

export const reminderArm = z.object({
  name: slug.describe('The arm as reports name it (e.g. the experiment variant whose delay this is)'),
  delayMinutes: z
    .number()
    .min(0)
    .describe(
      'The arm’s nominal delay (simulated minutes after the cart). Nudge is never early, only late: a cart reminder arriving at or after this and before the next arm’s delay is in this arm; one earlier than every arm is in the first',
    ),
  lift: z
    .number()
    .min(0)
    .max(1)
    .describe(
      'Ground truth: absolute percentage points (0.03 = 3 pp) this arm adds to the conversion of abandoned carts, over effects.baseConversion',
    ),
})

export const mailKind = z.object({
  name: slug.describe('The kind as reports name it (e.g. the journey or experiment variant that sends it)'),
  subjectPattern: z
    .string()
    .min(1)
    .refine(isRegExp, 'must be a regular expression')
    .describe(
      'Case-insensitive regular expression on the subject of a received mail that is not a cart reminder; the first matching kind wins',
    ),
  purchaseGivenClick: probability(
    0,
    'Ground truth: chance a click on this kind of mail leads to a purchase of the product the shopper last viewed (or one picked for them)',
  ),
})

export const contentVariant = z.object({
  name: slug.describe('The content variant as reports name it'),
  subjectPattern: z
    .string()
    .min(1)
    .refine(isRegExp, 'must be a regular expression')
    .describe('Case-insensitive regular expression on the subject of a received mail; the first matching variant wins'),
  revenueMultiplier: z
    .number()
    .positive()
    .max(10)
    .describe(
      'Ground truth: a purchase that follows a click on this variant is worth the cart times this (an add-on line makes up the difference)',
    ),
})
