import type { TestProject } from 'vitest/node'
import { freePort } from '../../runtime/freePort.js'
import { ensureTemporalCli } from '../../runtime/temporalCli.js'
import { type DevServer, startDevServer } from '../../runtime/temporalDevServer.js'

/** One real Temporal dev server (in memory, headless) for the whole test run. */
let server: DevServer | undefined

export async function setup(project: TestProject) {
  const cliPath = await ensureTemporalCli()
  server = await startDevServer({ cliPath, port: await freePort(), readyTimeoutMs: 90_000 })
  project.provide('temporalAddress', server.address)
}

export async function teardown() {
  await server?.stop()
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string
  }
}
