import { Counter, type Registry } from 'prom-client'
import type { ClickHouseClient } from '@clickhouse/client'
import { FalseTriggerMonitor } from '../analytics/reports/falseTriggerMonitor.js'
import type { DetectOptions } from '../analytics/reports/falseTriggers.js'
import { parseDuration } from '../core/duration.js'
import type { Logger } from '../core/log.js'
import type { Tombstones } from '../ingest/erasure/tombstones.js'
import type { ErasureRegistry } from '../ingest/erasure/erasureRegistry.js'
import type { JourneyService } from '../journeys/journeyService.js'
import { type SegmentCondition, triggerCondition } from '../journeys/triggerCondition.js'
import type { Config } from './config.js'
import type { Role } from './role.js'

export type FalseTriggerOptions = () => Omit<DetectOptions, 'from' | 'until'>

/** What every false-trigger check compares sends with: journeys' exits and the policies in force. */
export function falseTriggerOptions(config: Config, journeys: JourneyService): FalseTriggerOptions {
  return () => ({
    journeys: journeys.list().map((j) => ({
      id: j.definition.id,
      ...(j.definition.entry.correlationKey ? { correlationKey: j.definition.entry.correlationKey } : {}),
      exits: j.definition.exit.flatMap((x) => (x.type === 'event' ? [{ event: x.event, match: x.match }] : [])),
      ...withCondition(triggerCondition(j.definition.trigger)),
    })),
    staleMs: parseDuration(config.STALE_TRIGGER_MAX_AGE)!,
    duplicateWindowMs: parseDuration(config.DUPLICATE_WINDOW)!,
    quietHoursTz: config.QUIET_HOURS_TZ,
    ...(config.quietHours ? { quietHours: config.quietHours } : {}),
    ...(config.frequencyCap ? { frequencyCap: config.frequencyCap } : {}),
  })
}

/** The periodic false-trigger check (not in a worker-only process), counted by class and journey. */
export function startFalseTriggers(
  config: Config,
  role: Role,
  log: Logger,
  x: {
    client: ClickHouseClient
    options: FalseTriggerOptions
    registry: Registry
    tombstones: Tombstones
    erasure: ErasureRegistry
  },
): FalseTriggerMonitor {
  const count = new Counter({
    name: 'nudge_false_triggers_total',
    help: 'False triggers found in sends, by class and journey',
    labelNames: ['class', 'journey'],
    registers: [x.registry],
  })
  const monitor = new FalseTriggerMonitor({
    client: x.client,
    options: x.options,
    intervalMs: role === 'worker' ? 0 : config.FALSE_TRIGGER_CHECK_MS,
    onFinding: (f) => count.inc({ class: f.class, journey: f.journeyId }),
    isErasedMessage: (id) => x.tombstones.isErasedMessage(id),
    log: log.error,
  })
  monitor.start()
  x.erasure.registerPendingWrites('false-trigger check', () => monitor.settled())
  return monitor
}

const withCondition = (c: SegmentCondition | undefined) => (c ? { segment: { id: c.segment, member: c.member } } : {})
