import type { TestProject } from 'vitest/node'
import { freePort } from '../../runtime/freePort.js'
import { ensureTemporalCli } from '../../runtime/temporal/temporalCli.js'
import { type DevServer, startDevServer } from '../../runtime/temporal/temporalDevServer.js'

/** One real Temporal dev server (in memory, headless) for the whole test run. */
let server: DevServer | undefined

export async function setup(project: TestProject) {
  const cliPath = await ensureTemporalCli()
  // Runs are told to continue as new after 200 history events (production: thousands), so the
  // tests exercise it.
  server = await startDevServer({
    cliPath,
    port: await freePort(),
    readyTimeoutMs: 90_000,
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 200 },
  })
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
