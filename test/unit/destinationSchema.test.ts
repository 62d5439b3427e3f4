import { describe, expect, it } from 'vitest'
import { toFieldIssues } from '../../core/fieldIssues.js'
import { destinationDefinition, maskSecret } from '../../destinations/destinationSchema.js'
import { keepMaskedSecrets, masked, unresolvedMasks } from '../../destinations/secretFields.js'
import { mapRecord } from '../../destinations/mapping.js'
import { selects } from '../../destinations/routeRecords.js'
import type { DestinationRecord } from '../../destinations/destinationRecord.js'

const segmentDest = {
  id: 'seg',
  name: 'Segment',
  kind: 'segment',
  records: { outcomes: { kinds: ['opened', 'clicked'], journeys: ['welcome'] } },
  config: { writeKey: 'write-key-123456', deletion: { token: 'public-token-1234' } },
}

function issues(input: unknown) {
  const r = destinationDefinition.safeParse(input)
  return r.success ? [] : toFieldIssues(r.error, input)
}

describe('destination schema', () => {
  it('fills defaults per kind', () => {
    const d = destinationDefinition.parse(segmentDest)
    expect(d).toMatchObject({ enabled: true, consentTopics: ['tracking'], rateLimitPerSecond: 10, batchSize: 100, maxAttempts: 8 })
    expect(d.config).toMatchObject({ endpoint: 'https://api.segment.io', mapping: {}, deletion: { apiUrl: 'https://api.segmentapis.com' } })
  })

  it('names the field and rule of each problem', () => {
    expect(issues({ ...segmentDest, id: 'Bad Id' })).toContainEqual(expect.objectContaining({ path: 'id', rule: 'format' }))
    expect(issues({ ...segmentDest, id: 'report' })).toContainEqual(expect.objectContaining({ path: 'id', rule: 'reserved' }))
    expect(issues({ ...segmentDest, config: { writeKey: 'short' } })).toContainEqual(
      expect.objectContaining({ path: 'config.writeKey', rule: 'min_length' }),
    )
    expect(issues({ ...segmentDest, config: { ...segmentDest.config, endpoint: 'http://segment.example' } })).toContainEqual(
      expect.objectContaining({ path: 'config.endpoint', rule: 'https' }),
    )
    expect(issues({ ...segmentDest, config: { ...segmentDest.config, mapping: { x: 'nowhere' } } })).toContainEqual(
      expect.objectContaining({ path: 'config.mapping.x', rule: 'source_field' }),
    )
    expect(issues({ ...segmentDest, config: { ...segmentDest.config, extra: 1 } })).toContainEqual(
      expect.objectContaining({ rule: 'unknown_key' }),
    )
    const hubspot = { ...segmentDest, kind: 'hubspot', config: { accessToken: 'pat-123456789', mapping: { 'Bad Name': 'userId' } } }
    expect(issues(hubspot)).toContainEqual(expect.objectContaining({ path: 'config.mapping.Bad Name', rule: 'field_name' }))
    const sf = {
      ...segmentDest,
      kind: 'salesforce',
      config: { instanceUrl: 'https://x.my.salesforce.com', accessToken: 'token-123456', apiVersion: '60' },
    }
    expect(issues(sf)).toContainEqual(expect.objectContaining({ path: 'config.apiVersion', rule: 'format' }))
    expect(issues({ ...segmentDest, records: { outcomes: { kinds: ['bounced'] } } })).toContainEqual(
      expect.objectContaining({ path: 'records.outcomes.kinds[0]', rule: 'one_of' }),
    )
  })

  it('loopback http is allowed (local receivers), other http is not', () => {
    expect(issues({ ...segmentDest, config: { ...segmentDest.config, endpoint: 'http://127.0.0.1:9999' } })).toEqual([])
  })
})

describe('secrets', () => {
  const d = destinationDefinition.parse(segmentDest)
  it('are masked in answers, nested ones included', () => {
    const m = masked(d)
    expect(m.config).toMatchObject({ writeKey: maskSecret('write-key-123456'), deletion: { token: '************1234' } })
    expect(JSON.stringify(m)).not.toContain('write-key-123456')
  })
  it('a masked value sent back keeps the stored secret; a new value replaces it', () => {
    const next = destinationDefinition.parse({ ...masked(d), config: { ...masked(d).config, writeKey: 'a-new-write-key' } })
    const kept = keepMaskedSecrets(next, d)
    expect(kept.config).toMatchObject({ writeKey: 'a-new-write-key', deletion: { token: 'public-token-1234' } })
    expect(unresolvedMasks(kept)).toEqual([])
    expect(unresolvedMasks(keepMaskedSecrets(next, undefined))).toEqual(['config.deletion.token'])
  })
  it('a masked value is not kept once the destination points elsewhere: the secret must be sent again', () => {
    const moved = destinationDefinition.parse({ ...masked(d), config: { ...masked(d).config, endpoint: 'https://elsewhere.example' } })
    expect(unresolvedMasks(keepMaskedSecrets(moved, d))).toEqual(['config.writeKey', 'config.deletion.token'])
  })
})

describe('mapping and selection', () => {
  const r: DestinationRecord = {
    id: 'r1',
    userKey: 'u1',
    kind: 'clicked',
    at: 0,
    data: { journeyId: 'welcome', url: 'https://x', traits: { ltv: 3 } },
  }
  it('maps source paths to destination fields, leaving out what the record does not have', () => {
    expect(mapRecord(r, { link: 'url', who: 'userId', when: 'at', ltv: 'traits.ltv', seg: 'segmentId', ev: 'event' })).toEqual({
      link: 'https://x',
      who: 'u1',
      when: '1970-01-01T00:00:00.000Z',
      ltv: 3,
      ev: 'Email Link Clicked',
    })
  })
  it('selects by kind and journey', () => {
    const d = destinationDefinition.parse(segmentDest)
    expect(selects(d, r)).toBe(true)
    expect(selects(d, { ...r, data: { journeyId: 'other' } })).toBe(false)
    expect(selects(d, { ...r, kind: 'sent' })).toBe(false)
    expect(selects(d, { ...r, kind: 'segment_entered' })).toBe(false)
  })
})
