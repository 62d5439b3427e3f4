import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, inject } from 'vitest'
import { loadConfig } from '../../runtime/config.js'
import { createLogger } from '../../core/log.js'
import { type Role, type RunningNudge, startNudge } from '../../runtime/nudge.js'
import type { HttpGet } from '../../delivery/webhooks/snsSignature.js'

export const WRITE_KEY = 'wk_test_web'
export const SERVER_WRITE_KEY = 'wk_test_server'
export const ADMIN_KEY = 'admin_test_key_123'
export const ENCRYPTION_KEY = 'a'.repeat(64)

/** A fresh temp data directory for this test file's process (chdb: one directory per process). */
export function tempDataDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-test-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface TestNudge extends RunningNudge {
  url: string
  dataDir: string
}

/** Starts the real thing — chdb store, Temporal client (and worker for role `all`), HTTP API on a free port. */
export async function startTestNudge(opts: {
  dataDir: string
  role?: Role
  env?: Record<string, string>
  temporalAddress?: string
  webhookHttpGet?: HttpGet
}): Promise<TestNudge> {
  const config = loadConfig({
    DATA_DIR: opts.dataDir,
    WRITE_KEYS: `web:${WRITE_KEY},server:${SERVER_WRITE_KEY}`,
    ADMIN_API_KEY: ADMIN_KEY,
    NUDGE_ENCRYPTION_KEY: ENCRYPTION_KEY,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    TEMPORAL_TASK_QUEUE: `test-${process.pid}`,
    ...opts.env,
  })
  const nudge = await startNudge({
    config,
    role: opts.role ?? 'api',
    temporalAddress: opts.temporalAddress ?? inject('temporalAddress'),
    log: createLogger(config.LOG_LEVEL),
    port: 0,
    ...(opts.webhookHttpGet ? { webhookHttpGet: opts.webhookHttpGet } : {}),
  })
  return { ...nudge, url: nudge.url ?? '', dataDir: opts.dataDir }
}

export function basic(key: string): string {
  return `Basic ${Buffer.from(`${key}:`).toString('base64')}`
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEY), ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  })
  return readResponse(res)
}

/** A response's status, headers, text and JSON (undefined when the body is not JSON). */
export async function readResponse(res: Response): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const text = await res.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, json, text }
}

export async function admin(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await res.text()
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as any }
}

let counter = 0
export function uid(prefix = 'u'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`
}

export interface NudgeFixture {
  /** The running instance (replaced by restart). */
  readonly nudge: TestNudge
  readonly dataDir: string
  /** Close everything (store included) and start again on the same data directory. */
  restart(): Promise<void>
}

/**
 * Starts Nudge before the file's tests and stops it after, on a temp data directory of its own.
 * `restart` proves what survives a restart: the store is closed and reopened.
 */
export function useTestNudge(
  opts: { role?: Role; env?: Record<string, string> | (() => Record<string, string>); webhookHttpGet?: HttpGet } = {},
): NudgeFixture {
  const data = tempDataDir()
  let current: TestNudge | undefined
  // env may be a function: settings known only once the file's own beforeAll ran (a port).
  const start = async () => {
    current = await startTestNudge({
      dataDir: data.dir,
      ...(opts.role ? { role: opts.role } : {}),
      env: typeof opts.env === 'function' ? opts.env() : opts.env,
      ...(opts.webhookHttpGet ? { webhookHttpGet: opts.webhookHttpGet } : {}),
    })
  }
  beforeAll(start)
  afterAll(async () => {
    await current?.stop()
    data.remove()
  })
  return {
    get nudge() {
      if (!current) throw new Error('Nudge is not running (beforeAll failed?)')
      return current
    },
    dataDir: data.dir,
    async restart() {
      await current?.stop()
      await start()
    },
  }
}
