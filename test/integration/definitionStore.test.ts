import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DefinitionKind, DefinitionStore } from '../../clickhouse/definitions/definitionStore.js'
import { type Store, openStore, selectRows } from '../../clickhouse/store.js'
import { tempDataDir, uid } from '../helpers/harness.js'
import { openMigratedStore } from '../helpers/store.js'

/**
 * The one store behind segments, flags, experiments, journeys and templates, against the real
 * engine: versions, what another process saves, and what the cache keeps. The `journeys` table
 * stands in for any kind (it keeps every version); `templates` for a kind without deletions.
 */
interface Note {
  id: string
  body: string
  status: string
  version: number
  at: number
}

let decoded = 0
const noteKind: DefinitionKind<Note, Note & { shout: string }> = {
  table: 'journeys',
  key: 'id',
  deletable: true,
  columns: ['definition', 'status'],
  keyOf: (n) => n.id,
  versionOf: (n) => n.version,
  timeOf: (n) => n.at,
  encode: (n) => ({ definition: JSON.stringify({ id: n.id, body: n.body }), status: n.status }),
  decode: (r) => {
    decoded++
    const d = JSON.parse(String(r.columns.definition)) as { body: string }
    return { id: r.key, body: d.body, status: String(r.columns.status), version: r.version, at: r.at }
  },
  prepare: (n) => {
    if (n.body === 'unpreparable') throw new Error('does not prepare')
    return { ...n, shout: n.body.toUpperCase() }
  },
}

const note = (id: string, body: string, version: number, status = 'draft'): Note => ({ id, body, status, version, at: Date.now() })

describe('definition store (versioned, polled, cached) on real chdb', () => {
  const data = tempDataDir()
  let store: Store
  let other: Store
  beforeAll(async () => {
    store = await openMigratedStore(data.dir)
    // A second connection to the same data stands in for another process.
    other = await openStore({ dataDir: data.dir })
  })
  afterAll(async () => {
    await other?.close()
    await store?.close()
    data.remove()
  })

  it('each save is a new version, current at once; every version stays readable', async () => {
    const defs = new DefinitionStore(store.client, noteKind)
    await defs.load()
    const id = uid('note')
    expect(await defs.nextVersion(id)).toBe(1)
    const first = await defs.save(note(id, 'hello', 1))
    expect(first).toMatchObject({ id, body: 'hello', version: 1, shout: 'HELLO' })
    expect(defs.get(id)).toBe(first)
    expect(await defs.nextVersion(id)).toBe(2)
    await defs.save(note(id, 'again', 2, 'active'))
    expect(defs.get(id)).toMatchObject({ body: 'again', status: 'active', version: 2, shout: 'AGAIN' })
    expect((await defs.versions(id)).map((n) => [n.version, n.body])).toEqual([
      [1, 'hello'],
      [2, 'again'],
    ])
    expect(await defs.versions(id, 1)).toMatchObject([{ version: 1, body: 'hello', status: 'draft' }])
    expect(await defs.versions(id, 7)).toEqual([])
  })

  it("another process's save, change and deletion are picked up by a refresh, and by the poller within its interval", async () => {
    const here = new DefinitionStore(store.client, noteKind)
    const there = new DefinitionStore(other.client, noteKind)
    await here.load()
    await there.load()
    const id = uid('note')
    const heard: string[][] = []
    here.onChange((keys) => heard.push(keys))

    await there.save(note(id, 'from there', 1))
    expect(here.has(id)).toBe(false) // nothing is read until asked
    await here.refresh()
    expect(here.get(id)).toMatchObject({ body: 'from there', version: 1, shout: 'FROM THERE' })
    expect(heard).toContainEqual([id])

    here.start(50)
    try {
      const changed = new Promise<string[]>((resolve) => here.onChange(resolve))
      const at = Date.now()
      await there.save(note(id, 'changed there', 2))
      expect(await changed).toEqual([id])
      expect(Date.now() - at).toBeLessThan(1000)
      expect(here.get(id)).toMatchObject({ body: 'changed there', version: 2 })

      const gone = new Promise<string[]>((resolve) => here.onChange(resolve))
      await there.remove(note(id, 'changed there', 3))
      expect(await gone).toEqual([id])
      expect(here.has(id)).toBe(false)
    } finally {
      here.stop()
    }
  })

  it('a deleted key keeps its history: a re-created one outranks its deletion, here and elsewhere', async () => {
    const here = new DefinitionStore(store.client, noteKind)
    await here.load()
    const id = uid('note')
    await here.save(note(id, 'one', 1))
    await here.remove(note(id, 'one', 2))
    expect(here.has(id)).toBe(false)
    expect(await here.nextVersion(id)).toBe(3)
    await here.save(note(id, 'reborn', 3))
    const fresh = new DefinitionStore(other.client, noteKind)
    await fresh.load()
    expect(fresh.get(id)).toMatchObject({ body: 'reborn', version: 3 })
  })

  it('the cache: an unchanged version is neither read again nor rebuilt; a refresh with no write reads nothing', async () => {
    const here = new DefinitionStore(store.client, noteKind)
    await here.load()
    const id = uid('note')
    const held = await here.save(note(id, 'kept', 1))
    await here.refresh() // our own write moved the stamp: one reload, which keeps what it holds
    expect(here.get(id)).toBe(held)
    const before = decoded
    await here.refresh() // nothing written since
    await here.load() // a forced reload decodes nothing already held
    expect(decoded).toBe(before)
    expect(here.get(id)).toBe(held)
    // The live view follows the store: callers may hold it.
    expect(here.entries.get(id)).toBe(held)
  })

  it('a definition that does not prepare is never stored; a stored one that does not load keeps the previous version', async () => {
    const logged: string[] = []
    const here = new DefinitionStore(store.client, noteKind, { log: (m) => logged.push(m) })
    await here.load()
    const id = uid('note')
    await here.save(note(id, 'good', 1))
    await expect(here.save(note(id, 'unpreparable', 2))).rejects.toThrow('does not prepare')
    const [row] = await selectRows<{ n: number }>(store.client, 'SELECT count() AS n FROM journeys WHERE id = {id:String}', { id })
    expect(Number(row!.n)).toBe(1)

    // Another writer stores a version this process cannot take: it keeps what it has, and says so.
    await new DefinitionStore(other.client, { ...noteKind, prepare: undefined } as never).save(note(id, 'unpreparable', 2))
    await here.refresh()
    expect(here.get(id)).toMatchObject({ body: 'good', version: 1 })
    expect(logged.some((m) => m.includes('does not load'))).toBe(true)
  })

  it('a kind without deletions refuses one; table and column names are checked', async () => {
    const templates = new DefinitionStore<Note>(store.client, {
      ...noteKind,
      table: 'templates',
      time: 'created_at',
      deletable: false,
      columns: ['definition'],
      encode: (n) => ({ definition: JSON.stringify({ id: n.id, body: n.body }) }),
      decode: (r) => ({ ...JSON.parse(String(r.columns.definition)), status: '', version: r.version, at: r.at }),
      prepare: undefined,
    })
    const id = uid('tpl')
    await templates.save(note(id, 'x', 1))
    await templates.load()
    expect(templates.get(id)).toMatchObject({ id, body: 'x', version: 1 })
    await expect(templates.remove(note(id, 'x', 2))).rejects.toThrow('cannot be deleted')
    expect(() => new DefinitionStore(store.client, { ...noteKind, table: 'journeys; DROP TABLE events' })).toThrow(
      'Not a column or table name',
    )
  })
})
