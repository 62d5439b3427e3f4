import type { ClickHouseClient } from '@clickhouse/client'
import { conditionFalseAtSend } from './falseTriggers/conditionFalseAtSend.js'
import { type DetectOptions, FALSE_TRIGGER_CLASSES, type Finding, INFORMATIONAL, iso } from './falseTriggers/model.js'
import { failedRuns, preventedSends, sendCounts } from './falseTriggers/rangeCounts.js'
import { checkSends } from './falseTriggers/sendChecks.js'
import { loadSends } from './falseTriggers/sendsSql.js'
import { sentAfterConversion } from './falseTriggers/sentAfterConversion.js'
import { sentAfterOptOut } from './falseTriggers/sentAfterOptOut.js'

// The false-trigger report's public face: the classes and their model (falseTriggers/model.ts),
// one file per class query in falseTriggers/, and here the detection order and the report.
export {
  type DetectOptions,
  FALSE_TRIGGER_CLASSES,
  type FalseTriggerClass,
  type Finding,
  INFORMATIONAL,
  type JourneyExits,
} from './falseTriggers/model.js'
export { failedRuns, preventedSends, sendCounts } from './falseTriggers/rangeCounts.js'

/** Every false trigger among the sends in the range, grouped by class in a fixed order (the report's examples keep it). */
export async function detectFalseTriggers(client: ClickHouseClient, o: DetectOptions): Promise<Finding[]> {
  const p = { from: o.from, until: o.until }
  const sends = await loadSends(client, p)
  const conversions = await sentAfterConversion(client, p, o.journeys)
  const optOuts = await sentAfterOptOut(client, p)
  const conditions = await conditionFalseAtSend(client, p, o.journeys)
  return [...conversions, ...optOuts, ...conditions, ...checkSends(sends, o)]
}

export async function falseTriggerReport(client: ClickHouseClient, o: DetectOptions, examplesPerClass = 5) {
  const [findings, prevented, sent, failed] = await Promise.all([
    detectFalseTriggers(client, o),
    preventedSends(client, o),
    sendCounts(client, o),
    failedRuns(client, o, examplesPerClass),
  ])
  const journeys = [
    ...new Set([
      ...findings.map((f) => f.journeyId),
      ...sent.map((s) => s.journey_id),
      ...prevented.map((x) => x.journey_id),
      ...failed.counts.map((x) => x.journeyId),
    ]),
  ].sort()
  const counts = (list: Finding[]) => Object.fromEntries(FALSE_TRIGGER_CLASSES.map((c) => [c, list.filter((f) => f.class === c).length]))
  const rate = (list: Finding[], sends: number) =>
    sends ? new Set(list.filter((f) => !INFORMATIONAL.has(f.class)).map((f) => f.messageId)).size / sends : 0
  const totalSends = sent.reduce((a, s) => a + Number(s.n), 0)
  const real = findings.filter((f) => !INFORMATIONAL.has(f.class))
  return {
    from: iso(o.from),
    until: iso(o.until),
    sends: totalSends,
    falseTriggers: new Set(real.map((f) => f.messageId)).size,
    rate: rate(findings, totalSends),
    alert: real.length > 0,
    counts: counts(findings),
    /** Runs that ended because they could not proceed (not false triggers: nothing was sent). */
    failedRuns: failed.counts.reduce((a, x) => a + x.runs, 0),
    journeys: journeys.map((j) => {
      const mine = findings.filter((f) => f.journeyId === j)
      const sends = Number(sent.find((s) => s.journey_id === j)?.n ?? 0)
      return {
        journey: j,
        sends,
        counts: counts(mine),
        rate: rate(mine, sends),
        prevented: Object.fromEntries(prevented.filter((x) => x.journey_id === j).map((x) => [x.reason, Number(x.n)])),
        failed: Object.fromEntries(failed.counts.filter((x) => x.journeyId === j).map((x) => [x.outcome, x.runs])),
      }
    }),
    failures: failed.examples,
    examples: Object.fromEntries(
      FALSE_TRIGGER_CLASSES.map((c) => [
        c,
        findings
          .filter((f) => f.class === c)
          .slice(0, examplesPerClass)
          .map((f) => ({ journey: f.journeyId, userKey: f.userKey, messageId: f.messageId, at: iso(f.at), evidence: f.evidence })),
      ]),
    ),
  }
}
