import type { ClickHouseClient } from '@clickhouse/client'
import type { ContactCipher } from '../core/contactCipher.js'
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js'
import { DefinitionStore, type DefinitionKind } from '../clickhouse/definitions/definitionStore.js'
import { type DestinationDefinition, destinationDefinition } from './destinationSchema.js'
import { keepMaskedSecrets, mapSecrets, masked, unresolvedMasks } from './secretFields.js'

export interface StoredDestination {
  definition: DestinationDefinition
  version: number
  updatedAt: number
}

/** Destinations in the versioned definition store; secrets sealed with the encryption key at rest. */
export function destinationKind(cipher: ContactCipher): DefinitionKind<StoredDestination> {
  return {
    table: 'destinations',
    key: 'id',
    deletable: true,
    columns: ['definition'],
    keyOf: (d) => d.definition.id,
    versionOf: (d) => d.version,
    timeOf: (d) => d.updatedAt,
    encode: (d) => ({ definition: JSON.stringify(mapSecrets(d.definition, (v) => cipher.encrypt(v))) }),
    decode: (r) => {
      const sealed = destinationDefinition.parse(JSON.parse(String(r.columns.definition)))
      return { definition: mapSecrets(sealed, (v) => cipher.decrypt(v)), version: r.version, updatedAt: r.at }
    },
  }
}

/** CRUD over the definitions; what leaves here for an answer is masked (`view`). */
export class DestinationService {
  readonly store: DefinitionStore<StoredDestination>

  constructor(
    client: ClickHouseClient,
    cipher: ContactCipher,
    log?: (msg: string, extra?: Record<string, unknown>) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new DefinitionStore(client, destinationKind(cipher), log ? { log } : {})
  }

  list(): StoredDestination[] {
    return this.store.list()
  }

  get(id: string): StoredDestination {
    const d = this.store.get(id)
    if (!d) throw new NotFoundError(`No destination "${id}"`)
    return d
  }

  async create(def: DestinationDefinition): Promise<StoredDestination> {
    if (this.store.has(def.id)) throw new ConflictError(`Destination "${def.id}" exists already`)
    return this.save(def)
  }

  async update(id: string, def: DestinationDefinition): Promise<StoredDestination> {
    const stored = this.get(id)
    return this.save(keepMaskedSecrets({ ...def, id }, stored.definition))
  }

  async remove(id: string): Promise<void> {
    const stored = this.get(id)
    await this.store.remove({ ...stored, version: await this.store.nextVersion(id), updatedAt: this.now() })
  }

  /** A destination as answered: its secrets masked. */
  static view(d: StoredDestination) {
    return { ...masked(d.definition), version: d.version, updatedAt: new Date(d.updatedAt).toISOString() }
  }

  private async save(def: DestinationDefinition): Promise<StoredDestination> {
    const left = unresolvedMasks(def)
    if (left.length)
      throw new ValidationError(
        'A masked secret stands for a stored one; this destination has none to keep',
        left.map((path) => ({ path, rule: 'secret_required', message: 'send the secret itself' })),
      )
    return this.store.save({ definition: def, version: await this.store.nextVersion(def.id), updatedAt: this.now() })
  }
}
