import type { ClickHouseClient } from '@clickhouse/client'
import type { ClusterOptions } from '../clickhouse/clusterDdl.js'
import type { DestinationDefinition } from './destinationSchema.js'
import { type DestinationReportRow, deadLetters, destinationReport, replayDeadLetters } from './destinationReport.js'
import { DestinationService, type StoredDestination } from './destinationStore.js'
import type { OutboxRow } from './outbox.js'
import { Outbox } from './outbox.js'

/** What the HTTP routes need: definitions, the report, the dead-letter list and replay (no SQL in a route). */
export interface DestinationsAdmin {
  list(): StoredDestination[]
  get(id: string): StoredDestination
  create(def: DestinationDefinition): Promise<StoredDestination>
  update(id: string, def: DestinationDefinition): Promise<StoredDestination>
  remove(id: string): Promise<void>
  report(): Promise<DestinationReportRow[]>
  deadLetters(id: string, limit: number): Promise<OutboxRow[]>
  replay(id: string, recordIds?: string[]): Promise<number>
}

export function destinationsAdmin(
  client: ClickHouseClient,
  service: DestinationService,
  /** After a replay: the destination's batch run is started at once rather than at the next tick. */
  kick?: (id: string) => Promise<void>,
  cluster?: ClusterOptions,
): DestinationsAdmin {
  return {
    list: () => service.list(),
    get: (id) => service.get(id),
    create: (def) => service.create(def),
    update: (id, def) => service.update(id, def),
    async remove(id) {
      await service.remove(id)
      await new Outbox(client, Date.now, cluster).dropDestination(id)
    },
    report: () => destinationReport(client),
    deadLetters(id, limit) {
      service.get(id)
      return deadLetters(client, id, limit)
    },
    async replay(id, recordIds) {
      service.get(id)
      const n = await replayDeadLetters(client, id, recordIds)
      if (n) await kick?.(id)
      return n
    },
  }
}
