import { spawn, spawnSync } from 'node:child_process'
import { accessSync, constants, mkdirSync, renameSync, rmSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'

/**
 * Finds the Temporal CLI, or builds it once from the Go module proxy into a per-user cache
 * outside the clone, so fresh clones and CI reuse it. Order: TEMPORAL_CLI_PATH, `temporal` on
 * PATH, the cache, then `go install`.
 */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal'
// v1.5.1 is the last tag whose go.mod has no `replace` directive, so `go install` can build it.
export const TEMPORAL_CLI_VERSION = 'v1.5.1'

export function temporalCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.NUDGE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nudge')
  return join(base, 'temporal-cli', TEMPORAL_CLI_VERSION)
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEMPORAL_CLI_PATH) return isExecutable(env.TEMPORAL_CLI_PATH) ? env.TEMPORAL_CLI_PATH : undefined
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal')
    if (isExecutable(candidate)) return candidate
  }
  const cached = join(temporalCacheDir(env), 'temporal')
  return isExecutable(cached) ? cached : undefined
}

export class TemporalCliUnavailable extends Error {}

const HELP = `
What you can do:
  - install the Temporal CLI yourself (https://docs.temporal.io/cli) and put \`temporal\` on PATH, or
  - set TEMPORAL_CLI_PATH to an existing \`temporal\` binary, or
  - install Go >= 1.23 so this script can run: go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`

/** Returns the CLI path, building it if needed. Idempotent; prints progress to `log`. */
export async function ensureTemporalCli(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if (env.TEMPORAL_CLI_PATH && !isExecutable(env.TEMPORAL_CLI_PATH))
    throw new TemporalCliUnavailable(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file.${HELP}`)
  const found = findTemporalCli(env)
  if (found) return found

  const go = spawnSync('go', ['version'], { encoding: 'utf8', env })
  if (go.error || go.status !== 0)
    throw new TemporalCliUnavailable(
      `The Temporal CLI is not installed and Go is not available to build it (${go.error?.message ?? go.stderr}).${HELP}`,
    )

  const target = temporalCacheDir(env)
  const staging = `${target}.building-${process.pid}`
  mkdirSync(staging, { recursive: true })
  log(`[nudge] Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go.stdout.trim()} (once per machine, a few minutes)`)
  log(`[nudge]   go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}  →  ${target}`)
  const started = Date.now()
  const tail: string[] = []
  const code = await new Promise<number>((resolve) => {
    const child = spawn('go', ['install', '-v', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      env: { ...env, GOBIN: staging, GOFLAGS: env.GOFLAGS ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let count = 0
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        tail.push(line)
        if (tail.length > 30) tail.shift()
        count++
        if (count % 100 === 0 || line.startsWith('go: downloading github.com/temporalio'))
          log(`[nudge]   … ${count} packages (${Math.round((Date.now() - started) / 1000)} s) ${line}`)
      }
    }
    child.stdout.on('data', onLine)
    child.stderr.on('data', onLine)
    child.on('error', () => resolve(-1))
    child.on('close', (c) => resolve(c ?? -1))
  })
  if (code !== 0 || !isExecutable(join(staging, 'temporal'))) {
    throw new TemporalCliUnavailable(
      `Building the Temporal CLI failed (go install exited with ${code}). Last output:\n${tail.join('\n')}${HELP}`,
    )
  }
  mkdirSync(target, { recursive: true })
  // rename is atomic, so a concurrent build or an interrupted one never leaves a half-written binary.
  renameSync(join(staging, 'temporal'), join(target, 'temporal'))
  rmSync(staging, { recursive: true, force: true })
  log(`[nudge] Temporal CLI ready in ${Math.round((Date.now() - started) / 1000)} s: ${join(target, 'temporal')}`)
  return join(target, 'temporal')
}
