import type { z } from 'zod'
import type { FieldIssue } from '../core/errors.js'
import { toFieldIssues } from '../core/fieldIssues.js'
import {
  MAX_RULE_CHILDREN,
  type Rule,
  computedLeaf,
  rule as ruleSchema,
  consentLeaf,
  engagementLeaf,
  performedLeaf,
  segmentRefLeaf,
  sequenceLeaf,
  traitLeaf,
} from './ruleSchema.js'

const LEAVES: Record<string, z.ZodType> = {
  performed: performedLeaf,
  sequence: sequenceLeaf,
  engagement: engagementLeaf,
  trait: traitLeaf,
  computed: computedLeaf,
  consent: consentLeaf,
  segment: segmentRefLeaf,
}
const KINDS = ['and', 'or', 'not', ...Object.keys(LEAVES)]

/**
 * Validates a rule node by node, so an error names the JSON path of the bad node
 * (`rule.and[1].performed.count.gte`) instead of "no union member matched". Each leaf is checked
 * by its own zod schema — the same ones the OpenAPI document shows. Returns the parsed rule
 * (defaults applied) or the issues.
 */
export function validateRule(input: unknown, path: (string | number)[] = ['rule']): { rule?: Rule; issues: FieldIssue[] } {
  const checked = validateNode(input, path, 0)
  if (checked.issues.length) return checked
  // The published schema is the contract: whatever limit it has holds here too, even one the
  // node-by-node walk above does not know about (then named less precisely, but never skipped).
  const full = ruleSchema.safeParse(input)
  return full.success ? checked : { issues: toFieldIssues(full.error, input, path) }
}

function validateNode(input: unknown, path: (string | number)[], depth: number): { rule?: Rule; issues: FieldIssue[] } {
  const at = formatPath(path)
  if (depth > 20) return { issues: [{ path: at, rule: 'max_depth', message: 'rules may nest at most 20 levels' }] }
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { issues: [{ path: at, rule: 'type', message: `must be an object with one of: ${KINDS.join(', ')}` }] }
  const keys = Object.keys(input)
  if (keys.length !== 1 || !KINDS.includes(keys[0]!))
    return {
      issues: [
        {
          path: at,
          rule: 'one_of',
          message: `must have exactly one key, one of: ${KINDS.join(', ')} (found: ${keys.join(', ') || 'none'})`,
        },
      ],
    }
  const kind = keys[0]!
  const value = (input as Record<string, unknown>)[kind]
  if (kind === 'and' || kind === 'or') {
    if (!Array.isArray(value) || value.length === 0)
      return { issues: [{ path: formatPath([...path, kind]), rule: 'min', message: 'must be a non-empty array of rules' }] }
    if (value.length > MAX_RULE_CHILDREN)
      return { issues: [{ path: formatPath([...path, kind]), rule: 'max', message: `must have at most ${MAX_RULE_CHILDREN} rules` }] }
    const children = value.map((child, i) => validateNode(child, [...path, kind, i], depth + 1))
    const issues = children.flatMap((c) => c.issues)
    return issues.length ? { issues } : { rule: { [kind]: children.map((c) => c.rule!) } as Rule, issues }
  }
  if (kind === 'not') {
    const child = validateNode(value, [...path, 'not'], depth + 1)
    return child.issues.length ? child : { rule: { not: child.rule! }, issues: [] }
  }
  const parsed = LEAVES[kind]!.safeParse(value)
  if (!parsed.success) return { issues: toFieldIssues(parsed.error, value, [...path, kind]) }
  return { rule: { [kind]: parsed.data } as Rule, issues: [] }
}

function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${p}` : p), '')
}

/** Every segment a rule refers to. */
export function referencedSegments(rule: Rule): string[] {
  if ('and' in rule) return rule.and.flatMap(referencedSegments)
  if ('or' in rule) return rule.or.flatMap(referencedSegments)
  if ('not' in rule) return referencedSegments(rule.not)
  if ('segment' in rule) return [rule.segment.id]
  return []
}

/** The path of a reference cycle through `id` if saving `rule` under `id` would create one. */
export function findCycle(id: string, rule: Rule, rulesById: (id: string) => Rule | undefined): string[] | undefined {
  const visit = (current: string, trail: string[]): string[] | undefined => {
    const r = current === id ? rule : rulesById(current)
    if (!r) return undefined
    for (const next of referencedSegments(r)) {
      if (next === id) return [...trail, next]
      if (trail.includes(next)) continue
      const found = visit(next, [...trail, next])
      if (found) return found
    }
    return undefined
  }
  return visit(id, [id])
}
