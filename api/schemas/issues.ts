import type { z } from 'zod'
import type { FieldIssue } from '../../core/errors.js'
import { ValidationError } from '../../core/errors.js'

/** `['batch', 3, 'timestamp']` → `batch[3].timestamp` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out ? `.${String(part)}` : String(part)
  }
  return out || '(body)'
}

function ruleOf(issue: z.core.$ZodIssue): { rule: string; message: string } {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? { rule: 'required', message: 'is required' }
        : { rule: 'type', message: `must be ${article(issue.expected)}` }
    case 'too_big':
      return { rule: issue.origin === 'string' ? 'max_length' : 'max', message: issue.message }
    case 'too_small':
      return { rule: issue.origin === 'string' ? 'min_length' : 'min', message: issue.message }
    case 'invalid_union':
      return { rule: 'one_of', message: issue.message }
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

export function toFieldIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({ path: formatPath([...prefix, ...issue.path]), ...ruleOf(issue) }))
}

/** Parses or throws a ValidationError naming every field and rule. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string, prefix: readonly PropertyKey[] = []): z.infer<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issues = toFieldIssues(result.error, prefix)
  throw new ValidationError(`Invalid ${what}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues)
}
