import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client'
import { afterAll, describe, expect, it } from 'vitest'
import { devServerRecordFile } from '../../runtime/temporal/temporalDevServer.js'
import { runId } from '../../workflows/client/journeyRuns.js'
import { NO_SEND_LIMITS, TEST_KEYS, embeddedEnv, startEmbedded } from '../helpers/child.js'
import { uid } from '../helpers/harness.js'
import { activeJourney, expectOneMessageEach, identify, track, waitFor } from '../helpers/journeys.js'

/**
 * Issue 16: the dev server `npm start` runs keeps its SQLite file in WAL mode with
 * `synchronous=NORMAL` (no fsync per commit). A process crash must still lose nothing: kill -9 of
 * the server and of Nudge right after triggers were acknowledged → after a restart on the same
 * DATA_DIR every trigger has its run, and each run's message is sent once.
 */
const probe = {
  id: 'wal-probe',
  name: 'wal-probe',
  trigger: { type: 'event', event: 'WAL Probe' },
  steps: [
    { id: 'wait', type: 'delay', duration: '3s' },
    { id: 'send', type: 'send', template: 'related-products', subject: 'wal-probe for {{ user.id }}' },
  ],
}

describe('kill -9 of Nudge and its Temporal dev server (SQLite in WAL mode)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-wal-crash-'))
  const dbFile = join(dir, 'temporal', 'temporal.db')
  const pids: number[] = []
  afterAll(() => {
    for (const pid of pids)
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone already
      }
    rmSync(dir, { recursive: true, force: true })
  })

  it('after a restart every acknowledged trigger has its run and each message is sent once', async () => {
    const env = await embeddedEnv(dir, { ...TEST_KEYS, ...NO_SEND_LIMITS, LOG_LEVEL: 'warn' })
    const base = `http://127.0.0.1:${env.PORT}`
    const temporalAt = `127.0.0.1:${env.TEMPORAL_PORT}`
    /** Whether each user's run exists on the server (any state). */
    const runsExist = async (users: string[]) => {
      const connection = await Connection.connect({ address: temporalAt })
      try {
        const client = new Client({ connection })
        const found = await Promise.all(
          users.map((u) =>
            client.workflow
              .getHandle(runId('wal-probe', u))
              .describe()
              .then(
                () => true,
                (err: unknown) => {
                  if (err instanceof WorkflowNotFoundError) return false
                  throw err
                },
              ),
          ),
        )
        return found.every(Boolean)
      } finally {
        await connection.close()
      }
    }

    const first = await startEmbedded(env, 90_000, { detached: true })
    pids.push(-first.child.pid!)
    await activeJourney(base, probe)
    // Started: runs the server acknowledged before the crash. Posted: triggers acknowledged by
    // Nudge's API just before it, whose runs may or may not have been started yet.
    const started = Array.from({ length: 30 }, () => uid('wal-started'))
    const posted = Array.from({ length: 10 }, () => uid('wal-posted'))
    for (const u of [...started, ...posted]) await identify(base, u, { email: `${u}@example.test` })
    await Promise.all(started.map((u) => track(base, u, 'WAL Probe')))
    await waitFor(() => runsExist(started), 30_000, 'the runs to start')
    // The server commits into its write-ahead log (the pragma took effect).
    expect(existsSync(`${dbFile}-wal`)).toBe(true)
    await Promise.all(posted.map((u) => track(base, u, 'WAL Probe')))

    // No graceful close anywhere: the server first (no checkpoint), then Nudge's process group.
    const serverPid = (JSON.parse(readFileSync(devServerRecordFile(dbFile), 'utf8')) as { pid: number }).pid
    pids.push(serverPid)
    process.kill(serverPid, 'SIGKILL')
    process.kill(-first.child.pid!, 'SIGKILL')
    await first.exited

    const second = await startEmbedded(env, 90_000, { detached: true })
    pids.push(-second.child.pid!)
    try {
      const all = [...started, ...posted]
      await waitFor(() => runsExist(all), 60_000, 'every acknowledged trigger’s run')
      await expectOneMessageEach(base, all, (u) => `wal-probe for ${u}`)
    } finally {
      await second.stop()
    }
  }, 300_000)
})
