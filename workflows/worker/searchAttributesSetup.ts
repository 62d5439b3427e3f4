import type { Connection } from '@temporalio/client'
import { SEARCH_ATTRIBUTES } from '../client/searchAttributes.js'

const TYPE_ENUM: Record<string, number> = { Text: 1, Keyword: 2, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 }

/**
 * Registers Nudge's search attributes on a cluster that does not have them yet (the embedded dev
 * server gets them as start flags). Idempotent. Temporal Cloud refuses the operator API: there
 * they are added once with `tcld namespace search-attributes add`, and this returns the missing ones.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace })
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in (existing.customAttributes ?? {})))
  if (!missing.length) return []
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, TYPE_ENUM[type]!])),
    })
    return []
  } catch {
    return missing.map(([name]) => name)
  }
}

/**
 * Nudge cannot run journeys without its search attributes: every run upserts `EndReason` when it
 * ends and starts carry the others, so a missing one makes Temporal refuse starts as invalid (the
 * router drops those) and fail every run's last workflow task on each retry. Refuse to start instead.
 */
export function missingSearchAttributesError(missing: readonly string[], namespace: string): Error | undefined {
  if (!missing.length) return undefined
  const types = missing.map((name) => `${name}=${SEARCH_ATTRIBUTES[name as keyof typeof SEARCH_ATTRIBUTES] ?? 'Keyword'}`)
  return new Error(
    `Temporal namespace "${namespace}" lacks Nudge's search attributes ${missing.join(', ')} and Nudge may not add them: ` +
      `add them once (Temporal Cloud: tcld namespace search-attributes add --namespace ${namespace} ${types.map((t) => `--search-attribute ${t}`).join(' ')}), then start Nudge again`,
  )
}
