import { TemplateStore } from '../content/templateStore.js'
import { JourneyService } from '../journeys/journeyService.js'
import type { JourneyDepsIn } from './journeyDeps.js'

/**
 * Templates and journey definitions, loaded and polled. A journey is checked against what the
 * other modules hold (templates, flags, segments, experiments' variants).
 */
export async function startDefinitions(d: JourneyDepsIn): Promise<{ templates: TemplateStore; journeys: JourneyService }> {
  const { config } = d
  const templates = new TemplateStore({ client: d.store.client, log: d.log })
  await templates.load()
  templates.start(Math.max(config.CONFIG_POLL_MS, 1000))
  const journeys = new JourneyService({
    client: d.store.client,
    pollMs: config.CONFIG_POLL_MS,
    log: d.log,
    catalog: {
      hasTemplate: (id) => templates.has(id),
      subjectProblem: (source) => templates.subjectProblem(source),
      flagType: (key) => (d.flags.has(key) ? d.flags.get(key).definition.type : undefined),
      hasSegment: (id) => d.segments.has(id),
      variantsOf: (key) => (d.experiments.has(key) ? d.experiments.get(key).definition.variants.map((v) => v.key) : undefined),
    },
  })
  await journeys.load()
  journeys.start()
  return { templates, journeys }
}
