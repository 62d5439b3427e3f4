import { type Client, ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client'
import { ID_LIMITS, boundedId } from '../../core/boundedId.js'
import { parseDuration } from '../../core/duration.js'
import type { StoredJourney } from '../../journeys/journeyService.js'

/** A journey's schedule id. The task queue is in it: Nudge installations sharing a namespace keep apart. */
export function scheduleId(taskQueue: string, journeyId: string): string {
  return `journey-schedule:${taskQueue}:${journeyId}`
}

/**
 * Keeps one Temporal Schedule per active schedule-triggered journey (`scheduleId`, visible and
 * pausable in the Temporal UI), and none for the others. Idempotent: call it at start and after
 * every definition change, from any number of processes.
 */
export async function reconcileSchedules(client: Client, taskQueue: string, journeys: StoredJourney[]): Promise<void> {
  const PREFIX = scheduleId(taskQueue, '')
  const want = new Map<string, number>()
  for (const j of journeys)
    if (j.status === 'active' && j.definition.trigger.type === 'schedule')
      want.set(j.definition.id, parseDuration(j.definition.trigger.every) ?? 86_400_000)
  const have = new Set<string>()
  for await (const s of client.schedule.list()) if (s.scheduleId.startsWith(PREFIX)) have.add(s.scheduleId.slice(PREFIX.length))
  for (const [id, every] of want) {
    const options = {
      scheduleId: scheduleId(taskQueue, id),
      spec: { intervals: [{ every }] },
      action: {
        type: 'startWorkflow' as const,
        workflowType: 'journeyScheduleWorkflow',
        args: [id],
        taskQueue,
        workflowId: boundedId(`journey-fan-out:${taskQueue}:${id}`, ID_LIMITS.workflowId),
      },
      memo: { journey: id },
    }
    if (!have.has(id)) {
      await client.schedule.create(options).catch((err) => (err instanceof ScheduleAlreadyRunning ? undefined : Promise.reject(err)))
    } else {
      await client.schedule.getHandle(options.scheduleId).update((prev) => ({ ...prev, spec: options.spec }))
    }
  }
  for (const id of have)
    if (!want.has(id))
      await client.schedule
        .getHandle(scheduleId(taskQueue, id))
        .delete()
        .catch((err) => (err instanceof ScheduleNotFoundError ? undefined : Promise.reject(err)))
}
