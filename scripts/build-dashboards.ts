import { buildAll, describeBuild, OUT_DIR, writeBuild } from '../dashboards/build.js'

/**
 * `npm run dashboards`: builds the Grafana dashboards and alert rules (dashboards/*.ts) and writes
 * them under dashboards/out/ — dashboard JSON, and provisioning YAML for data sources, the
 * dashboard provider and the alert rules, ready to mount into /etc/grafana/provisioning.
 * CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_DATABASE, PROMETHEUS_URL and TRIGGER_LATENCY_SLO (as Nudge reads it)
 * change what goes into the files.
 */
const build = buildAll()
const written = writeBuild(build, OUT_DIR)
console.log(`Wrote ${written.length} files (${build.dashboards.length} dashboards, ${build.alertGroup.rules?.length ?? 0} alert rules):`)
for (const line of describeBuild(build, written)) console.log(line)
