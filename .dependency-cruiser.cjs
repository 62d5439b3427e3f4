// The layer rule of docs/architecture.md, checked by `npm test` (scripts/check-house.mjs).
// A folder may import its own layer and the layers listed before it, never one after it.
const LAYERS = [
  ['core'], // shared kernel: ids, durations, JSON values, local time, errors, validation, logging
  ['clickhouse'], // the store adapter: one client, migrations, batched inserts, SQL helpers
  ['ingest'], // ingest & identity: events, users, consent, erasure
  ['segments'],
  ['experiments'], // experiments & flags: model, assignment, OpenFeature provider
  ['content'], // templates, Liquid + MJML, recommendations, tracked links
  ['journeys'], // definitions, trigger routing, run records
  ['delivery'], // the send gate, compose + send, outcomes, suppressions, ESP webhooks
  ['destinations'], // behaviour out: destination definitions, outbox, senders (webhook, HubSpot, Salesforce, Segment)
  ['analytics'], // stats engine, experiment results, reports
  ['workflows'], // Temporal: the journey interpreter, activities, worker, client
  ['api', 'dashboards'], // HTTP adapter; Grafana as code
  ['runtime'], // the composition root and the process
  ['demo'], // the demo app and its traffic simulator: never imported by the product
  ['scripts'], // benches and tools
]

const folder = (names) => `^(${names.join('|')})/`
const upward = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1).flat()
  return above.length === 0
    ? []
    : [
        {
          name: `no-upward-from-${layer.join('-')}`,
          severity: 'error',
          comment: `${layer.join(', ')} may not import a layer above it`,
          from: { path: folder(layer) },
          to: { path: folder(above) },
        },
      ]
})

// Files that must stay pure: no store, no network, no Temporal client, no file system.
const PURE = [
  '^core/',
  '^analytics/stats/',
  '^experiments/(assign|hash)\\.ts$',
  '^segments/compile\\.ts$',
  '^journeys/validateJourney\\.ts$',
  '^workflows/.*\\.workflow\\.ts$',
  '^workflows/journey/',
]
// clickhouse/sqlBuilder.ts only builds parameterised SQL text (no client, no I/O): pure cores may use it.
const ADAPTERS = [
  '^clickhouse/(?!sqlBuilder\\.ts$)',
  '^delivery/',
  '^api/',
  '^runtime/',
  '@clickhouse/client',
  '^express$',
  '^nodemailer',
  '@temporalio/(client|worker|activity)',
  '^node:(fs|net|http|https|child_process)',
  '^(fs|net|http|https|child_process)$',
]

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'no import circles', from: {}, to: { circular: true } },
    ...upward,
    {
      name: 'no-demo-in-product',
      severity: 'error',
      comment: 'product code never imports the demo, the simulator, scripts or tests',
      from: { pathNot: '^(demo|scripts|test)/' },
      to: { path: '^(demo|scripts|test)/' },
    },
    {
      name: 'pure-cores-import-no-adapter',
      severity: 'error',
      comment: 'stats, assignment, the segment compiler and the journey interpreter import no adapter',
      from: { path: PURE },
      to: { path: ADAPTERS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'routes-own-no-sql',
      severity: 'error',
      comment:
        "HTTP routes and the wiring reach ClickHouse only through a module's repository (runtime/storeSetup.ts opens and migrates the store)",
      from: { path: ['^api/', '^runtime/'], pathNot: '^runtime/storeSetup\\.ts$' },
      to: { path: ['^clickhouse/', '@clickhouse/client'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|test-results|dashboards/out)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.mjs', '.js', '.json'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
}
