import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The built-in reusable blocks (`content/partials/<name>.liquid`), read once. */
export const PARTIALS_DIR = join(import.meta.dirname, 'partials')

export const PARTIALS: Record<string, string> = Object.fromEntries(
  readdirSync(PARTIALS_DIR)
    .filter((f) => f.endsWith('.liquid'))
    .map((f) => [f.slice(0, -'.liquid'.length), readFileSync(join(PARTIALS_DIR, f), 'utf8')]),
)
