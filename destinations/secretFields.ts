import { type DestinationDefinition, isMasked, maskSecret, SECRET_KEYS } from './destinationSchema.js'

/**
 * The secrets inside a destination's config (SECRET_KEYS: a token, a write key, a signing secret,
 * `deletion.token`), rewritten one by one: sealed for the store, masked for an answer, or — on an
 * update that sent back a masked value — the stored secret kept.
 */
export function mapSecrets(d: DestinationDefinition, f: (value: string, path: string) => string): DestinationDefinition {
  const config = structuredClone(d.config) as Record<string, unknown>
  for (const path of SECRET_KEYS[d.kind]) {
    const parts = path.split('.')
    let holder: Record<string, unknown> | undefined = config
    for (const p of parts.slice(0, -1)) holder = holder?.[p] as Record<string, unknown> | undefined
    const key = parts.at(-1)!
    const value = holder?.[key]
    if (holder && typeof value === 'string') holder[key] = f(value, path)
  }
  return { ...d, config } as DestinationDefinition
}

export const masked = (d: DestinationDefinition) => mapSecrets(d, maskSecret)

/**
 * Masked values in `next` stand for the secrets of `stored` at the same path — only while the
 * secrets still go where they went: an update that points the destination at another URL must send
 * them itself, or anyone who may edit a destination could have its stored token sent to their host.
 */
export function keepMaskedSecrets(next: DestinationDefinition, stored: DestinationDefinition | undefined): DestinationDefinition {
  const held = new Map<string, string>()
  if (stored && stored.kind === next.kind && sameEndpoints(stored, next)) mapSecrets(stored, (v, p) => (held.set(p, v), v))
  return mapSecrets(next, (v, p) => (isMasked(v) && held.has(p) ? held.get(p)! : v))
}

/** Masked secrets left in a definition (an update of a secret that was never stored): their paths. */
export function unresolvedMasks(d: DestinationDefinition): string[] {
  const out: string[] = []
  mapSecrets(d, (v, p) => (isMasked(v) && out.push(`config.${p}`), v))
  return out
}

/** The config keys holding the URLs a kind's secrets are sent to. */
const ENDPOINT_KEYS = ['url', 'baseUrl', 'instanceUrl', 'endpoint', 'deletion.apiUrl']

function sameEndpoints(a: DestinationDefinition, b: DestinationDefinition): boolean {
  const at = (d: DestinationDefinition, path: string) =>
    path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], d.config)
  return ENDPOINT_KEYS.every((path) => at(a, path) === at(b, path))
}
