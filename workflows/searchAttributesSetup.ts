import type { Connection } from '@temporalio/client'
import { SEARCH_ATTRIBUTES } from './searchAttributes.js'

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
