import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common'

/**
 * The two data sources every dashboard and alert rule refers to, by fixed uid: provisioning
 * (`out/provisioning/datasources/nudge.yaml`) creates them with exactly these uids, so the JSON
 * needs no `${DS_…}` inputs and imports the same way into any Grafana.
 */
export const CLICKHOUSE: Required<Pick<DataSourceRef, 'type' | 'uid'>> = { type: 'grafana-clickhouse-datasource', uid: 'nudge-clickhouse' }
export const PROMETHEUS: Required<Pick<DataSourceRef, 'type' | 'uid'>> = { type: 'prometheus', uid: 'nudge-prometheus' }
/** Grafana's server-side expressions (reduce, math, threshold) in alert rules. */
export const EXPRESSION: Required<Pick<DataSourceRef, 'type' | 'uid'>> = { type: '__expr__', uid: '__expr__' }

/** The plugin version the ClickHouse query model below was written against (grafana-clickhouse-datasource 4.x). */
export const CLICKHOUSE_PLUGIN_VERSION = '4.0.0'

/** The folder the dashboards and alert rules are provisioned into. */
export const FOLDER = { uid: 'nudge', title: 'Nudge' }
