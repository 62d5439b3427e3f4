import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const WORKFLOWS_DIR = dirname(fileURLToPath(import.meta.url))
const WORKFLOW_IMPORTS = ['journeys', 'core']

/** A hash of everything that goes into the bundle: the workflow sources and the SDK version. */
export function workflowSourceHash(): string {
  const hash = createHash('sha256')
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) hash.update(path.slice(WORKFLOWS_DIR.length)).update(readFileSync(path))
    }
  }
  walk(WORKFLOWS_DIR)
  // Pure modules the workflow code imports from outside this folder (see journey.workflow.ts).
  for (const dir of WORKFLOW_IMPORTS) walk(join(WORKFLOWS_DIR, '..', dir))
  const sdk = JSON.parse(readFileSync(join(WORKFLOWS_DIR, '..', 'node_modules', '@temporalio', 'worker', 'package.json'), 'utf8')) as {
    version: string
  }
  return hash.update(sdk.version).digest('hex').slice(0, 16)
}

export function bundleCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.NUDGE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nudge'), 'workflow-bundles')
}

/**
 * The workflow bundle as a file, built once per source version (in a child process, see
 * bundleMain.ts) and reused by every later start, test worker and replica on this machine.
 */
export async function workflowBundlePath(cacheDir = bundleCacheDir()): Promise<string> {
  const file = join(cacheDir, `workflows-${workflowSourceHash()}.js`)
  if (existsSync(file)) return file
  mkdirSync(cacheDir, { recursive: true })
  const staging = `${file}.${process.pid}.tmp`
  const stderr: string[] = []
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(WORKFLOWS_DIR, 'bundleMain.ts'), staging], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()))
    child.on('error', () => resolve(-1))
    child.on('close', (c) => resolve(c ?? -1))
  })
  if (code !== 0 || !existsSync(staging)) throw new Error(`Bundling the workflows failed (exit ${code}):\n${stderr.join('')}`)
  renameSync(staging, file) // atomic: concurrent starts never see half a bundle
  return file
}
