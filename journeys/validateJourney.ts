import type { FieldIssue } from '../core/errors.js'
import type { JourneyDefinition, JourneyStep } from './journeySchema.js'

/** What a definition may refer to, as the service knows it at save time. */
export interface JourneyCatalog {
  hasTemplate(id: string): boolean
  /** The flag's type, or undefined when there is no such flag. */
  flagType(key: string): string | undefined
  hasSegment(id: string): boolean
  /** The experiment's variant keys, or undefined when there is no such experiment. */
  variantsOf(key: string): string[] | undefined
  /** Why a Liquid subject override does not parse (undefined: it does). */
  subjectProblem?(source: string): string | undefined
}

/** Where each step goes next, by the name of the field that says so. */
export function successors(steps: JourneyStep[], i: number): { field: string; to: string | undefined }[] {
  const s = steps[i]!
  const fallthrough = steps[i + 1]?.id
  switch (s.type) {
    case 'exit':
      return []
    case 'wait':
      return [
        { field: 'onEvent', to: s.onEvent ?? fallthrough },
        { field: 'onTimeout', to: s.onTimeout ?? fallthrough },
      ]
    case 'condition':
      return [
        { field: 'then', to: s.then ?? fallthrough },
        { field: 'else', to: s.else ?? fallthrough },
      ]
    case 'experiment':
      return [
        ...Object.entries(s.branches).map(([k, to]) => ({ field: `branches.${k}`, to })),
        { field: 'next', to: s.next ?? fallthrough },
      ]
    default:
      return [{ field: 'next', to: s.next ?? fallthrough }]
  }
}

/**
 * The checks a schema cannot make: the step graph (unique ids, references that exist, every step
 * reachable, no loop that could spin without waiting) and references to templates, flags,
 * segments and experiments. Pure; each issue names the JSON path of the field at fault.
 */
export function validateJourney(j: JourneyDefinition, catalog: JourneyCatalog): FieldIssue[] {
  const issues: FieldIssue[] = []
  const add = (path: string, rule: string, message: string) => issues.push({ path, rule, message })
  const index = new Map<string, number>()
  j.steps.forEach((s, i) => {
    if (index.has(s.id)) add(`steps[${i}].id`, 'unique', `duplicate step id "${s.id}"`)
    else index.set(s.id, i)
  })

  // References and reachability, from the first step.
  j.steps.forEach((_, i) => {
    for (const { field, to } of successors(j.steps, i))
      if (to !== undefined && !index.has(to)) add(`steps[${i}].${field}`, 'reference', `no step "${to}"`)
  })
  const reached = new Set<number>([0])
  const queue = [0]
  while (queue.length) {
    const i = queue.pop()!
    for (const { to } of successors(j.steps, i)) {
      const k = to === undefined ? undefined : index.get(to)
      if (k !== undefined && !reached.has(k)) {
        reached.add(k)
        queue.push(k)
      }
    }
  }
  j.steps.forEach((s, i) => {
    if (!reached.has(i)) add(`steps[${i}]`, 'unreachable', `step "${s.id}" cannot be reached from the first step`)
  })
  const loop = loopWithoutWait(j.steps, index)
  if (loop) add(`steps[${index.get(loop[0]!)}]`, 'cycle', `steps ${loop.join(' → ')} loop without a delay or wait`)

  // Entry and exit rules.
  if (j.entry.reentry === 'cooldown' && j.entry.cooldown === undefined)
    add('entry.cooldown', 'required', 're-entry "cooldown" needs a cooldown')
  const needsKey = (m: { match: string }) => m.match === 'correlation'
  j.exit.forEach((e, i) => {
    if (e.type === 'event' && needsKey(e) && !j.entry.correlationKey)
      add(`exit[${i}].match`, 'correlation_key', 'matching by correlation needs entry.correlationKey')
    if (e.type === 'segment_exit' && !catalog.hasSegment(e.segment)) add(`exit[${i}].segment`, 'reference', `no segment "${e.segment}"`)
  })
  if (
    (j.trigger.type === 'segment_entry' || j.trigger.type === 'segment_exit' || j.trigger.type === 'schedule') &&
    !catalog.hasSegment(j.trigger.segment)
  )
    add('trigger.segment', 'reference', `no segment "${j.trigger.segment}"`)
  if (j.entry.correlationKey && j.trigger.type !== 'event')
    add('entry.correlationKey', 'event_trigger', 'a correlation key needs an event trigger (it is read from the trigger event)')

  // What steps refer to.
  j.steps.forEach((s, i) => {
    const at = `steps[${i}]`
    if (s.type === 'send' && !catalog.hasTemplate(s.template)) add(`${at}.template`, 'reference', `no template "${s.template}"`)
    if (s.type === 'send' && s.subject !== undefined) {
      const problem = catalog.subjectProblem?.(s.subject)
      if (problem) add(`${at}.subject`, 'liquid_syntax', problem)
    }
    if (s.type === 'delay' && s.flag) {
      const type = catalog.flagType(s.flag.key)
      if (type === undefined) add(`${at}.flag.key`, 'reference', `no flag "${s.flag.key}"`)
      else if (type !== 'duration' && type !== 'number')
        add(`${at}.flag.key`, 'type', `flag "${s.flag.key}" is a ${type} flag; a delay needs a duration`)
    }
    if (s.type === 'wait' && needsKey(s.for) && !j.entry.correlationKey)
      add(`${at}.for.match`, 'correlation_key', 'matching by correlation needs entry.correlationKey')
    if (s.type === 'condition')
      s.when.forEach((t, k) => {
        if ('segment' in t && !catalog.hasSegment(t.segment.id))
          add(`${at}.when[${k}].segment.id`, 'reference', `no segment "${t.segment.id}"`)
      })
    if (s.type === 'experiment') {
      const variants = catalog.variantsOf(s.experiment)
      if (!variants) add(`${at}.experiment`, 'reference', `no experiment "${s.experiment}"`)
      else
        for (const k of Object.keys(s.branches))
          if (!variants.includes(k)) add(`${at}.branches.${k}`, 'reference', `experiment "${s.experiment}" has no variant "${k}"`)
    }
  })
  return issues
}

/** A cycle made only of steps that take no time (it would spin), as step ids; else undefined. */
function loopWithoutWait(steps: JourneyStep[], index: Map<string, number>): string[] | undefined {
  const instant = (i: number) => steps[i]!.type !== 'delay' && steps[i]!.type !== 'wait'
  const state = new Map<number, 'open' | 'done'>()
  const path: number[] = []
  const visit = (i: number): string[] | undefined => {
    state.set(i, 'open')
    path.push(i)
    for (const { to } of successors(steps, i)) {
      const k = to === undefined ? undefined : index.get(to)
      if (k === undefined || !instant(k)) continue
      if (state.get(k) === 'open') return [...path.slice(path.indexOf(k)), k].map((n) => steps[n]!.id)
      if (!state.has(k)) {
        const found = visit(k)
        if (found) return found
      }
    }
    path.pop()
    state.set(i, 'done')
    return undefined
  }
  for (let i = 0; i < steps.length; i++)
    if (instant(i) && !state.has(i)) {
      const found = visit(i)
      if (found) return found
    }
  return undefined
}
