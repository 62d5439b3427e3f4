/**
 * Custom search attributes every journey run carries, so operators can find runs in the
 * Temporal UI by journey, user, experiment and variant. Registered on the embedded dev server at
 * start and on an external cluster by `ensureSearchAttributes`.
 */
export const SEARCH_ATTRIBUTES = {
  JourneyId: 'Keyword',
  UserId: 'Keyword',
  ExperimentKey: 'Keyword',
  Variant: 'Keyword',
  JourneyStep: 'Keyword',
} as const

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES
