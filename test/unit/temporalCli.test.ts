import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TemporalCliUnavailable, ensureTemporalCli, findTemporalCli, temporalCacheDir } from '../../runtime/temporal/temporalCli.js'

function fakeBinary(dir: string): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'temporal')
  writeFileSync(path, '#!/bin/sh\necho fake\n')
  chmodSync(path, 0o755)
  return path
}

describe('Temporal CLI provisioning order', () => {
  const root = mkdtempSync(join(tmpdir(), 'nudge-cli-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('TEMPORAL_CLI_PATH wins', () => {
    const p = fakeBinary(join(root, 'explicit'))
    expect(findTemporalCli({ TEMPORAL_CLI_PATH: p, PATH: '' })).toBe(p)
  })

  it('then `temporal` on PATH', () => {
    const p = fakeBinary(join(root, 'onpath'))
    expect(findTemporalCli({ PATH: join(root, 'onpath'), NUDGE_CACHE_DIR: join(root, 'none') })).toBe(p)
  })

  it('then the per-user cache outside the clone', () => {
    const env = { PATH: '', NUDGE_CACHE_DIR: join(root, 'cache') }
    const p = fakeBinary(temporalCacheDir(env))
    expect(temporalCacheDir(env)).toContain('v1.5.1')
    expect(findTemporalCli(env)).toBe(p)
  })

  it('a TEMPORAL_CLI_PATH that is not executable is an actionable error, not a silent build', async () => {
    await expect(ensureTemporalCli(() => {}, { TEMPORAL_CLI_PATH: join(root, 'missing'), PATH: '' })).rejects.toThrow(
      TemporalCliUnavailable,
    )
    await expect(ensureTemporalCli(() => {}, { TEMPORAL_CLI_PATH: join(root, 'missing'), PATH: '' })).rejects.toThrow(
      /install the Temporal CLI/,
    )
  })

  it('without Go and without a binary it says exactly what to do', async () => {
    await expect(ensureTemporalCli(() => {}, { PATH: join(root, 'empty'), NUDGE_CACHE_DIR: join(root, 'nocache') })).rejects.toThrow(
      /Go is not available[\s\S]*TEMPORAL_CLI_PATH/,
    )
  })
})
