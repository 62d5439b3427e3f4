import type { Config } from './config.js'

/** Where an operator looks next: the Temporal UI, the API docs, the captured mail, Grafana's provisioning. */
export function reportLinks(config: Config, url?: string): { label: string; url: string }[] {
  const base = config.PUBLIC_URL ?? url ?? `http://127.0.0.1:${config.PORT}`
  return [
    { label: 'Temporal UI (journey runs, search by JourneyId / UserId)', url: `http://127.0.0.1:${config.TEMPORAL_UI_PORT}` },
    { label: 'API documentation (OpenAPI)', url: `${base}/docs` },
    { label: 'Captured mail', url: `${base}/messages` },
    {
      label: 'Grafana dashboards and alerts as code (npm run dashboards → dashboards/out/)',
      url: 'https://grafana.com/docs/grafana/latest/administration/provisioning/',
    },
  ]
}
