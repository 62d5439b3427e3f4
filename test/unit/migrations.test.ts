import { describe, expect, it } from 'vitest'
import { loadMigrations, splitStatements } from '../../clickhouse/migrate.js'

describe('migrations', () => {
  it('are numbered, ordered and split into statements without comments', () => {
    const ms = loadMigrations()
    expect(ms.map((m) => m.version)).toEqual([...ms.map((m) => m.version)].sort((a, b) => a - b))
    expect(ms[0]!.statements[0]).toMatch(/^CREATE TABLE IF NOT EXISTS events/)
    for (const m of ms) for (const s of m.statements) expect(s).toMatch(/IF NOT EXISTS/)
  })

  it('splitStatements keeps semicolons inside a statement line and drops comment lines', () => {
    expect(splitStatements("-- c;\nSELECT 1;\nSELECT ';' AS x;\n")).toEqual(['SELECT 1', "SELECT ';' AS x"])
  })
})
