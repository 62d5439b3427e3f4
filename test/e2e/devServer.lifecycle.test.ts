import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeDevServerRecord } from '../../runtime/temporal/devServerRecord.js'
import { ensureTemporalCli } from '../../runtime/temporal/temporalCli.js'
import { devServerRecordFile } from '../../runtime/temporal/temporalDevServer.js'
import { embeddedEnv, startEmbedded } from '../helpers/child.js'
import { sleep } from '../helpers/journeys.js'

/**
 * Issue 13 §6: the Temporal dev server `npm start` runs must die with Nudge, however Nudge dies
 * (it runs in a process group of its own, out of reach of a kill of Nudge's group), and a start
 * that finds a server of its own DATA_DIR left running stops it and goes on.
 */
const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port })
    s.once('connect', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
  })
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) // a zombie holds nothing
  } catch {
    return false
  }
}
/** Milliseconds until the port is closed and the process gone (or -1 after `ms`). */
async function freedWithin(port: number, pid: number, ms: number): Promise<number> {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (!(await portOpen(port)) && !alive(pid)) return Date.now() - t0
    await sleep(100)
  }
  return -1
}

describe('the Temporal dev server dies with Nudge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-devserver-'))
  const dbFile = join(dir, 'temporal', 'temporal.db')
  const started: number[] = []
  afterAll(() => {
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  const envFor = () =>
    embeddedEnv(dir, {
      WRITE_KEYS: 'web:wk_devserver',
      ADMIN_API_KEY: 'admin_devserver_key',
      NUDGE_ENCRYPTION_KEY: 'c'.repeat(64),
      LOG_LEVEL: 'info',
    })
  const serverPid = () => (JSON.parse(readFileSync(devServerRecordFile(dbFile), 'utf8')) as { pid: number }).pid
  /** Nudge in a process group of its own, and its dev server (killed after the tests if one is left). */
  const startDetached = async () => {
    const env = await envFor()
    const nudge = await startEmbedded(env, 90_000, { detached: true })
    const pid = serverPid()
    started.push(pid)
    return { port: Number(env.TEMPORAL_PORT), nudge, pid }
  }
  /** Once Nudge has exited: ms until its dev server is gone and the port free (-1 past 15 s), logged as `what`. */
  const serverGoneAfter = async (what: string, s: Awaited<ReturnType<typeof startDetached>>) => {
    await s.nudge.exited
    const ms = await freedWithin(s.port, s.pid, 15_000)
    console.log(`${what}: dev server gone and port free after ${ms} ms`)
    return ms
  }

  it('kill -9 of Nudge’s whole process group: the server stops and frees its port', async () => {
    const s = await startDetached()
    expect(await portOpen(s.port)).toBe(true)
    process.kill(-s.nudge.child.pid!, 'SIGKILL')
    expect(await serverGoneAfter('group kill', s)).toBeGreaterThanOrEqual(0)
  }, 180_000)

  it('kill -9 of the Nudge process alone: the same, and the next start on the DATA_DIR works', async () => {
    const s = await startDetached()
    s.nudge.child.kill('SIGKILL')
    expect(await serverGoneAfter('process kill', s)).toBeGreaterThanOrEqual(0)
  }, 180_000)

  it('a server of this DATA_DIR left running (no watchdog) is stopped by the next start, which then runs', async () => {
    const env = await envFor()
    const port = Number(env.TEMPORAL_PORT)
    mkdirSync(join(dir, 'temporal'), { recursive: true })
    // An orphan as a crash leaves it: the CLI itself, detached, on Nudge's database and port.
    const stale = spawn(
      await ensureTemporalCli(),
      ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--log-level', 'error', '--db-filename', dbFile],
      { detached: true, stdio: 'ignore' },
    )
    stale.unref()
    started.push(stale.pid!)
    const end = Date.now() + 60_000
    while (!(await portOpen(port))) {
      if (Date.now() > end) throw new Error('the stale server did not listen')
      await sleep(200)
    }

    // Its owner still running (here: this test process) → refused, the server left alone.
    writeDevServerRecord(devServerRecordFile(dbFile), { pid: stale.pid!, port, dbFile })
    const refused = await startEmbedded(env, 60_000).then(
      (n) => (n.child.kill('SIGKILL'), 'started'),
      (err: Error) => err.message,
    )
    expect(refused).toContain('belongs to a Nudge that is still running')
    expect(alive(stale.pid!)).toBe(true)

    // Its owner gone (a crash) → stopped, and this start goes on.
    const deadOwner = spawnSync('true').pid
    writeDevServerRecord(devServerRecordFile(dbFile), { pid: stale.pid!, port, dbFile, ownerPid: deadOwner })
    const nudge = await startEmbedded(env)
    try {
      expect(alive(stale.pid!)).toBe(false)
      expect(nudge.output()).toContain('outlived the Nudge that started it')
      expect(serverPid()).not.toBe(stale.pid)
      started.push(serverPid())
    } finally {
      nudge.child.kill('SIGINT')
      expect(await nudge.exited).toBe(0)
    }
    expect(await portOpen(port)).toBe(false)
  }, 240_000)
})
