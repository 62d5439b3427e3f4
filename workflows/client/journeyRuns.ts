import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client'
import { ID_LIMITS, boundedId } from '../../core/boundedId.js'
import type { JourneyDefinition } from '../../journeys/journeySchema.js'
import type { JourneyEvent } from '../../journeys/matchEvent.js'
import type { JourneyInput, JourneyState } from '../journey/runContract.js'

/**
 * A run's workflow id: readable in the Temporal UI, and the same for the same (journey, user, key).
 * A user id (up to 256 characters) and a correlation value (any length: a property of the trigger)
 * can make it longer than Temporal takes, so it is bounded (`boundedId`: long ones keep a readable
 * prefix and end in a hash of the whole).
 */
export function runId(journeyId: string, userKey: string, correlation?: string): string {
  return boundedId(`journey:${journeyId}:${userKey}${correlation !== undefined ? `:${correlation}` : ''}`, ID_LIMITS.workflowId)
}

/** The `UserId` search attribute's value for a user: set at start and queried for equality, so both go through here. */
export function userIdAttribute(userKey: string): string {
  return boundedId(userKey, ID_LIMITS.keyword)
}

export type StartOutcome = 'started_or_signalled' | 'not_reentered'

/**
 * The Temporal side of journeys: start-or-signal a run, send events and exits to runs, find a
 * user's runs. The router (pure decisions) calls these; tests and the API use them too.
 */
export class JourneyRuns {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    /**
     * A client on the worker's own connection (one process runs both): a new run's first
     * workflow task then comes back in the start response to this worker (eager start), instead
     * of through the server's task matching — the difference between ~50 ms and seconds at 100
     * starts/s on a small machine (`npm run bench:triggers`).
     */
    private readonly eager?: Client,
  ) {}

  /**
   * Start-or-signal (`signalWithStart`): the first trigger starts the run, any later one (same
   * id) is a signal the run ignores when it has seen that message — so a duplicate trigger never
   * makes a second run.
   */
  async start(
    journey: JourneyDefinition,
    version: number,
    userKey: string,
    trigger: JourneyEvent,
    opts: { correlation?: string; test: boolean },
  ): Promise<StartOutcome> {
    const workflowId = runId(journey.id, userKey, opts.correlation)
    const input: JourneyInput = {
      journey,
      version,
      userKey,
      trigger,
      test: opts.test,
      ...(opts.correlation !== undefined ? { correlation: opts.correlation } : {}),
    }
    const options = {
      workflowId,
      taskQueue: this.taskQueue,
      args: [input] as [JourneyInput],
      // never: a closed run of this id blocks a new one (for as long as the namespace retains it)
      workflowIdReusePolicy: journey.entry.reentry === 'never' ? ('REJECT_DUPLICATE' as const) : ('ALLOW_DUPLICATE' as const),
      searchAttributes: { JourneyId: [journey.id], UserId: [userIdAttribute(userKey)], JourneyStep: [journey.steps[0]!.id] },
      memo: {
        journey: journey.name,
        version,
        trigger: trigger.event,
        ...(opts.correlation !== undefined ? { correlation: opts.correlation } : {}),
        ...(opts.test ? { test: true } : {}),
      },
    }
    if (this.eager) {
      // The common case, a new run, started eagerly (the trigger is its input; the run counts it
      // as seen). A run already open under this id is not an error here: the atomic
      // signal-with-start below delivers the trigger to it, or refuses re-entry, as without eager.
      try {
        await this.eager.workflow.start('journeyWorkflow', { ...options, requestEagerStart: true, workflowIdConflictPolicy: 'FAIL' })
        return 'started_or_signalled'
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err
      }
    }
    try {
      await this.client.workflow.signalWithStart('journeyWorkflow', { ...options, signal: 'event', signalArgs: [trigger] })
      return 'started_or_signalled'
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'not_reentered'
      throw err
    }
  }

  /** Sends an event to a run if it is open; false when there is none. */
  async signalEvent(workflowId: string, event: JourneyEvent): Promise<boolean> {
    return this.signal(workflowId, 'event', event)
  }

  async signalExit(workflowId: string, reason: string): Promise<boolean> {
    return this.signal(workflowId, 'exit', { reason })
  }

  private async signal(workflowId: string, name: string, arg: unknown): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(workflowId).signal(name, arg)
      return true
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false
      throw err
    }
  }

  /** A run's live state through its query handler; undefined when there is no such run. */
  async state(workflowId: string): Promise<JourneyState | undefined> {
    try {
      return await this.client.workflow.getHandle(workflowId).query<JourneyState>('state')
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined
      throw err
    }
  }

  /** Open runs of a user (optionally of one journey), from Temporal's visibility store. */
  async openRuns(userKey: string, journeyId?: string): Promise<{ workflowId: string; journeyId: string }[]> {
    // A NUL cannot be written in a visibility query (Temporal refuses it as a server error), and
    // no run carries one (ingest refuses a NUL in an id): none to find.
    if (userKey.includes('\u0000') || journeyId?.includes('\u0000')) return []
    const q = [`UserId = ${quote(userIdAttribute(userKey))}`, `ExecutionStatus = 'Running'`, `WorkflowType = 'journeyWorkflow'`]
    if (journeyId) q.push(`JourneyId = ${quote(journeyId)}`)
    const out: { workflowId: string; journeyId: string }[] = []
    for await (const w of this.client.workflow.list({ query: q.join(' AND ') })) {
      const j = w.searchAttributes?.JourneyId
      out.push({ workflowId: w.workflowId, journeyId: Array.isArray(j) ? String(j[0]) : '' })
    }
    return out
  }

  /** Erasure: the user's runs end now, without another step (their data is being deleted). */
  async terminateUserRuns(userKey: string, reason: string): Promise<number> {
    const runs = await this.openRuns(userKey)
    await Promise.all(
      runs.map((r) =>
        this.client.workflow
          .getHandle(r.workflowId)
          .terminate(reason)
          .catch((err) => (err instanceof WorkflowNotFoundError ? undefined : Promise.reject(err))),
      ),
    )
    return runs.length
  }

  /**
   * Erasure: every run of the user, open or closed, is deleted from Temporal — its history (the
   * trigger event and its properties, every activity's input and result) and its visibility row
   * (the `UserId` search attribute). Terminating alone would leave all of it readable in the
   * Temporal UI and API until the namespace's retention ends. A running run is ended and deleted at
   * once; a closed one is removed by Temporal asynchronously (about half a minute on the dev
   * server). A run whose deletion is still being carried out may be listed again: deleting it
   * twice is harmless.
   */
  async deleteUserRuns(userKey: string): Promise<number> {
    // A NUL cannot be written in a visibility query (Temporal refuses the query as a server error)
    // and no run carries one: none to delete (the same guard as openRuns on h-input).
    if (userKey.includes('\u0000')) return 0
    const query = `UserId = ${quote(userIdAttribute(userKey))} AND WorkflowType = 'journeyWorkflow'`
    const runs: { workflowId: string; runId: string }[] = []
    for await (const w of this.client.workflow.list({ query })) runs.push({ workflowId: w.workflowId, runId: w.runId })
    const namespace = this.client.options.namespace
    for (const r of runs)
      await this.client.workflowService
        .deleteWorkflowExecution({ namespace, workflowExecution: r })
        .catch((err: { code?: number }) => (err?.code === 5 /* NOT_FOUND */ ? undefined : Promise.reject(err)))
    return runs.length
  }
}

/** A visibility-query string literal (the value is data, never query syntax). */
function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}
