import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { z } from 'zod'

/**
 * Which Temporal dev server holds a DATA_DIR: a record (pid file) next to its SQLite database, so
 * that a start after a crash that left the server running (its watchdog killed too, or a version
 * of Nudge without one) finds it, checks it really is that server, stops it and goes on.
 */
export const devServerRecord = z.object({
  pid: z.number().int().positive(),
  /** The process's start time (/proc/<pid>/stat field 22) where known: a reused pid does not match. */
  startTicks: z.string().optional(),
  port: z.number().int(),
  dbFile: z.string(),
  /** The Nudge process that started it; while that one lives, the server is not stale. */
  ownerPid: z.number().int().positive(),
  ownerStartTicks: z.string().optional(),
  startedAt: z.string(),
})
export type DevServerRecord = z.infer<typeof devServerRecord>

export function writeDevServerRecord(
  file: string,
  rec: Omit<DevServerRecord, 'startTicks' | 'ownerPid' | 'ownerStartTicks' | 'startedAt'> & { ownerPid?: number },
): void {
  const ownerPid = rec.ownerPid ?? process.pid
  const full: DevServerRecord = {
    ...rec,
    startTicks: startTicks(rec.pid),
    ownerPid,
    ownerStartTicks: startTicks(ownerPid),
    startedAt: new Date().toISOString(),
  }
  writeFileSync(file, `${JSON.stringify(full)}\n`)
}

export function removeDevServerRecord(file: string): void {
  rmSync(file, { force: true })
}

export class DataDirInUse extends Error {}

/**
 * Stops the dev server a previous start of this DATA_DIR left running, if there is one: the
 * recorded pid is alive, started when recorded, and runs `temporal server start-dev` on this
 * database. Refuses (DataDirInUse) while the Nudge that started it still runs. Returns the
 * stopped server's pid, if it stopped one.
 */
export async function stopStaleDevServer(
  file: string,
  dbFile: string,
  warn: (msg: string, extra?: Record<string, unknown>) => void,
): Promise<number | undefined> {
  let rec: DevServerRecord
  try {
    rec = devServerRecord.parse(JSON.parse(readFileSync(file, 'utf8')))
  } catch {
    removeDevServerRecord(file) // absent or unreadable: nothing to go on
    return undefined
  }
  if (rec.ownerPid !== process.pid && sameProcess(rec.ownerPid, rec.ownerStartTicks))
    throw new DataDirInUse(
      `The Temporal dev server of this DATA_DIR (pid ${rec.pid}, port ${rec.port}) belongs to a Nudge that is still running (pid ${rec.ownerPid}); stop it first, or use another DATA_DIR.`,
    )
  if (!sameProcess(rec.pid, rec.startTicks) || !isDevServerOf(rec.pid, dbFile)) {
    removeDevServerRecord(file)
    return undefined
  }
  warn('a Temporal dev server of this DATA_DIR outlived the Nudge that started it; stopping it', {
    pid: rec.pid,
    port: rec.port,
    since: rec.startedAt,
  })
  signal(rec.pid, 'SIGTERM')
  if (!(await gone(rec.pid, 10_000))) {
    signal(rec.pid, 'SIGKILL')
    await gone(rec.pid, 5_000)
  }
  removeDevServerRecord(file)
  return rec.pid
}

/** /proc/<pid>/stat's fields after the command name (state first); undefined off Linux or when gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may itself hold spaces or parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** The process's start time (clock ticks after boot); undefined off Linux. */
export function startTicks(pid: number): string | undefined {
  return statFields(pid)?.[19]
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function sameProcess(pid: number, ticks: string | undefined): boolean {
  if (!alive(pid)) return false
  const now = startTicks(pid)
  return ticks === undefined || now === undefined || now === ticks
}

/** The process's command line names a dev server on this database. */
function isDevServerOf(pid: number, dbFile: string): boolean {
  let args: string[]
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    try {
      args = execFileSync('ps', ['-p', String(pid), '-o', 'args='], { encoding: 'utf8' })
        .trim()
        .split(/\s+/)
    } catch {
      return false
    }
  }
  return args.includes('start-dev') && args.includes(dbFile)
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // Gone already.
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (!alive(pid) || isZombie(pid)) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return !alive(pid)
}

/** Exited, not yet reaped by its parent: it holds no port or file any more. */
function isZombie(pid: number): boolean {
  return statFields(pid)?.[0] === 'Z'
}
