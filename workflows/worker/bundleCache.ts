import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WORKFLOWS_PATH } from './workflowsPath.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = join(HERE, '..', '..')

/**
 * A relative import or re-export (`import … from './x.js'`, `export … from`, `import './x.js'`); a
 * type-only one (`import type`) is left out: the bundle never contains it.
 */
const RELATIVE_IMPORT = /\b(?:import|export)\s+(type\s+)?(?:[\w$*{}\s,]+?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/g

/**
 * Every source file the workflow bundle is built from: the bundle entry and what it imports, followed
 * through the tree (workflow code imports pure modules from core/ and journeys/). Found from the
 * imports themselves, so a module moved or newly imported is never missed by the cache key.
 */
export function workflowSourceFiles(entry: string = WORKFLOWS_PATH): string[] {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const m of readFileSync(file, 'utf8').matchAll(RELATIVE_IMPORT)) {
      if (m[1]) continue
      const target = resolve(dirname(file), m[2]!.replace(/\.js$/, '.ts'))
      if (existsSync(target)) visit(target)
    }
  }
  visit(entry)
  return [...seen].sort()
}

/** A hash of everything that goes into the bundle: the workflow sources and the SDK version. */
export function workflowSourceHash(): string {
  const hash = createHash('sha256')
  for (const file of workflowSourceFiles()) hash.update(relative(REPO, file)).update(readFileSync(file))
  const sdk = JSON.parse(readFileSync(join(REPO, 'node_modules', '@temporalio', 'worker', 'package.json'), 'utf8')) as {
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
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'bundleMain.ts'), staging], {
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
