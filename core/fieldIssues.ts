import type { z } from 'zod'
import type { FieldIssue } from './errors.js'
import { ValidationError } from './errors.js'

/** `['batch', 3, 'timestamp']` → `batch[3].timestamp` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out ? `.${String(part)}` : String(part)
  }
  return out || '(body)'
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined
  return v
}

function ruleOf(issue: z.core.$ZodIssue, value: unknown): { rule: string; message: string } {
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && value === undefined)
    return { rule: 'required', message: 'is required' }
  switch (issue.code) {
    case 'invalid_type':
      return { rule: 'type', message: `must be ${article(issue.expected)}` }
    case 'too_big':
      return { rule: issue.origin === 'string' ? 'max_length' : 'max', message: issue.message }
    case 'too_small':
      return { rule: issue.origin === 'string' ? 'min_length' : 'min', message: issue.message }
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options
      if ('discriminator' in issue || options)
        return { rule: 'one_of', message: options ? `must be one of ${options.join(', ')}` : issue.message }
      return { rule: 'type', message: 'must be a string or a number' }
    }
    case 'invalid_value':
      return { rule: 'one_of', message: issue.message }
    case 'invalid_format':
      return { rule: 'format', message: issue.message }
    case 'unrecognized_keys':
      return { rule: 'unknown_key', message: issue.message }
    case 'custom':
      return { rule: String((issue.params as { rule?: string } | undefined)?.rule ?? 'invalid'), message: issue.message }
    default:
      return { rule: issue.code, message: issue.message }
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}

export function toFieldIssues(error: z.ZodError, input: unknown, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({ path: formatPath([...prefix, ...issue.path]), ...ruleOf(issue, valueAt(input, issue.path)) }))
}

/** Parses or throws a ValidationError naming every field and rule. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  prefix: readonly PropertyKey[] = [],
): z.infer<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issues = toFieldIssues(result.error, input, prefix)
  throw new ValidationError(`Invalid ${what}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues)
}
