import { z } from 'zod'

// ISO-8601 date-time with a zone, as Segment libraries send it (e.g. 2024-05-01T10:00:00.000Z).
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/

// What the store can hold (DateTime64 from 1970) and what can be meant (nothing after 2299).
const EARLIEST = Date.parse('1970-01-01T00:00:00Z')
const LATEST = Date.parse('2300-01-01T00:00:00Z')

/** `Date.parse` rolls 2024-02-30 over to 1 March; the store refuses it. The day must exist. */
function isCalendarDate(s: string): boolean {
  const [y, m, d] = s.slice(0, 10).split('-').map(Number) as [number, number, number]
  const date = new Date(Date.UTC(y, m - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

export const isoDateTime = z
  .string()
  .refine((s) => ISO_DATE_TIME.test(s) && Number.isFinite(Date.parse(s)) && isCalendarDate(s), {
    message: 'must be an ISO-8601 date-time with a time zone, e.g. 2024-05-01T10:00:00.000Z',
    params: { rule: 'iso8601' },
  })
  .refine((s) => !Number.isFinite(Date.parse(s)) || (Date.parse(s) >= EARLIEST && Date.parse(s) < LATEST), {
    message: 'must be between 1970-01-01 and 2299-12-31',
    params: { rule: 'range' },
  })
  .meta({ format: 'date-time' })

/**
 * A free-form JSON object (properties, traits, context). Checked for shape only: its keys are
 * the customer's, and walking them with a record schema costs more than the rest of the event.
 */
export const jsonObject = z
  .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
    message: 'must be an object',
    params: { rule: 'type' },
  })
  .meta({ type: 'object', additionalProperties: true })

/** Consent topics are slugs: the three built-in ones and any a customer adds. */
export const consentTopic = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a lowercase slug (a-z, 0-9, _ and -)')
  .meta({ examples: ['tracking', 'marketing', 'transactional'] })
