import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { envSchema } from '../../runtime/envSchema.js'
import { CONFIG_DOCS_PATH, configurationMarkdown } from '../../scripts/gen-config-docs.js'

describe('docs/configuration.md', () => {
  it('is what `npm run docs:config` generates from the env schema now', () => {
    // On failure: run `npm run docs:config` and commit docs/configuration.md with the schema change.
    expect(readFileSync(CONFIG_DOCS_PATH, 'utf8')).toBe(configurationMarkdown())
  })

  it('documents every variable the schema reads, with its default', () => {
    const page = configurationMarkdown()
    for (const name of Object.keys(envSchema.shape)) expect(page, name).toMatch(new RegExp(`^\\| \`${name}\` \\| \\S`, 'm'))
    expect(page).toContain('| `PORT` | `3000` | integer 1–65535 |')
    expect(page).toContain('| `QUIET_HOURS` | `""` (none) | must look like 21:00-08:00 |')
  })
})
