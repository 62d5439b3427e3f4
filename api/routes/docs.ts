import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import express, { Router } from 'express'

/** `/openapi.json` and a Swagger UI at `/docs`, served from the installed package (works offline). */
export function docsRouter(document: Record<string, unknown>): Router {
  const router = Router()
  const require = createRequire(import.meta.url)
  const assets = dirname(require.resolve('swagger-ui-dist/package.json'))
  router.get('/openapi.json', (_req, res) => {
    res.json(document)
  })
  router.use('/docs/assets', express.static(assets, { index: false }))
  // A file, not an inline script: the page CSP allows script from this origin only.
  router.get('/docs/init.js', (_req, res) => {
    res.type('text/javascript').send("window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' })\n")
  })
  router.get('/docs', (_req, res) => {
    res.type('html').send(`<!doctype html>
<html><head><meta charset="utf-8"><title>Nudge API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`)
  })
  return router
}
