import type { Client } from '@temporalio/client'
import type { ConsentState } from '../ingest/identity/consentState.js'
import type { IngestService } from '../ingest/ingestService.js'
import type { UserRepository } from '../ingest/identity/users.js'
import type { SegmentEngine } from '../segments/segmentEngine.js'
import type { Store } from '../clickhouse/store.js'
import type { TrackingConfig } from '../delivery/composeMessage.js'
import type { RecommendationService } from '../content/recommendations/service.js'
import type { ContactCipher } from '../core/contactCipher.js'
import type { ExperimentService } from '../experiments/experimentService.js'
import type { FlagService } from '../experiments/flags/flagService.js'
import type { ErasureRegistry } from '../ingest/erasure/erasureRegistry.js'
import type { Tombstones } from '../ingest/erasure/tombstones.js'
import type { Config } from './config.js'
import type { Role } from './role.js'

/** What the journeys' composition (runtime/journeysWiring.ts and its parts) is built from. */
export interface JourneyDepsIn {
  config: Config
  role: Role
  store: Store
  /** Opens another connection to the store (the send path, the mailbox and the pre-send checks each get one). */
  openConnection: () => Promise<Store>
  temporal: Client
  /** Role `all`: a client on the worker's connection, for eager starts. */
  eagerTemporal?: Client
  segments: SegmentEngine
  experiments: ExperimentService
  flags: FlagService
  consent: ConsentState
  cipher: ContactCipher
  ingest?: IngestService
  users: UserRepository
  tracking: TrackingConfig
  /** Keyed hash of contact details (the suppression list is by address). */
  lookupKey: Buffer
  /** Recommendation blocks and behavioral flags for templates (in memory). */
  recommendations?: RecommendationService
  /** The writer's last stored batch (where routing starts on a fresh store). */
  storedSeq?: () => number
  /** Every cache and buffer of people's data here registers to be erased. */
  erasure: ErasureRegistry
  /** Tombstones of erased people: their mail's late signals and their runs' sends are dropped. */
  tombstones: Tombstones
  log: (msg: string, extra?: Record<string, unknown>) => void
}
