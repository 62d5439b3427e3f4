import { createRequire } from 'node:module'

// The bundler starts from this file; every workflow is exported from it.
export const WORKFLOWS_PATH = createRequire(import.meta.url).resolve('../index.ts')
