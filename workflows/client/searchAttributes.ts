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
  /**
   * How a run ended, set when it ends: `completed`, `exited`, `holdout`, `exit:<event>`,
   * `opt_out:<topic>`, … or `failed:<step type>:<error type>` for a run that could not proceed
   * (`EndReason STARTS_WITH 'failed:'` finds them). At most 255 bytes.
   */
  EndReason: 'Keyword',
} as const

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES
