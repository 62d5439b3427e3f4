import type { RuleGroup } from '@grafana/grafana-foundation-sdk/alerting'
import { CLICKHOUSE, FOLDER, PROMETHEUS } from './datasources.js'

/**
 * Grafana file provisioning (mounted at /etc/grafana/provisioning): the two data sources, a
 * dashboard provider for the JSON files, and the alert rules. Grafana expands `${VAR}` in these
 * files from its own environment, so the ClickHouse password stays out of the files.
 */
export interface ProvisioningOptions {
  /** Nudge's ClickHouse server (the `CLICKHOUSE_URL` of a scaled deployment): http(s)://host:port. */
  clickhouseUrl: string
  clickhouseUser: string
  clickhouseDatabase: string
  /** Prometheus that scrapes Nudge's `GET /metrics`. */
  prometheusUrl: string
  /** Where the dashboard JSON files are mounted inside the Grafana container. */
  dashboardsPath: string
}

export function provisioningOptions(env: NodeJS.ProcessEnv = process.env): ProvisioningOptions {
  return {
    clickhouseUrl: env.CLICKHOUSE_URL || 'http://clickhouse:8123',
    clickhouseUser: env.CLICKHOUSE_USER || 'default',
    clickhouseDatabase: env.CLICKHOUSE_DATABASE || 'default',
    prometheusUrl: env.PROMETHEUS_URL || 'http://prometheus:9090',
    dashboardsPath: env.GRAFANA_DASHBOARDS_PATH || '/var/lib/grafana/dashboards/nudge',
  }
}

/** The ClickHouse (HTTP interface) and Prometheus data sources, with the uids the dashboards use. */
export function datasourcesProvisioning(o: ProvisioningOptions) {
  const url = new URL(o.clickhouseUrl)
  const secure = url.protocol === 'https:'
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'Nudge ClickHouse',
        type: CLICKHOUSE.type,
        uid: CLICKHOUSE.uid,
        access: 'proxy',
        editable: false,
        isDefault: true,
        jsonData: {
          host: url.hostname,
          port: Number(url.port || (secure ? 8443 : 8123)),
          protocol: 'http',
          secure,
          ...(url.pathname && url.pathname !== '/' ? { path: url.pathname } : {}),
          username: o.clickhouseUser,
          defaultDatabase: o.clickhouseDatabase,
        },
        secureJsonData: { password: '${CLICKHOUSE_PASSWORD}' },
      },
      {
        name: 'Nudge Prometheus',
        type: PROMETHEUS.type,
        uid: PROMETHEUS.uid,
        access: 'proxy',
        editable: false,
        url: o.prometheusUrl,
        jsonData: { httpMethod: 'POST', timeInterval: '15s' },
      },
    ],
  }
}

/** A file provider: every JSON in `dashboardsPath`, into the Nudge folder. */
export function dashboardsProvisioning(o: ProvisioningOptions) {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'nudge',
        orgId: 1,
        folder: FOLDER.title,
        folderUid: FOLDER.uid,
        type: 'file',
        disableDeletion: false,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: o.dashboardsPath, foldersFromFilesStructure: false },
      },
    ],
  }
}

/**
 * Alert rules in the file-provisioning shape. The SDK builds the API's model (RuleGroup with
 * `title`, an interval in seconds, rules carrying folderUID/ruleGroup/orgID); a provisioning file
 * names the group and its folder once and takes the interval as a duration.
 */
export function alertingProvisioning(groups: RuleGroup[]) {
  return {
    apiVersion: 1,
    groups: groups.map((g) => ({
      orgId: 1,
      name: g.title,
      folder: FOLDER.title,
      interval: `${g.interval ?? 60}s`,
      rules: (g.rules ?? []).map((r) => ({
        uid: r.uid,
        title: r.title,
        condition: r.condition,
        data: plain(r.data),
        noDataState: r.noDataState,
        execErrState: r.execErrState,
        for: r.for,
        annotations: r.annotations ?? {},
        labels: r.labels ?? {},
        isPaused: r.isPaused ?? false,
      })),
    })),
  }
}

/** Builders leave marker functions on their objects: a JSON round trip drops them. */
export function plain<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T
}
