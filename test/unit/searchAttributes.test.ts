import { describe, expect, it } from 'vitest'
import { missingSearchAttributesError } from '../../workflows/worker/searchAttributesSetup.js'

describe('search attributes Nudge cannot add', () => {
  it('stop the start with what to run (runs would otherwise fail their last task on every retry)', () => {
    expect(missingSearchAttributesError([], 'prod')).toBeUndefined()
    const err = missingSearchAttributesError(['EndReason', 'Variant'], 'prod.acct')!
    expect(err.message).toContain('"prod.acct" lacks')
    expect(err.message).toContain('EndReason, Variant')
    expect(err.message).toContain(
      'tcld namespace search-attributes add --namespace prod.acct --search-attribute EndReason=Keyword --search-attribute Variant=Keyword',
    )
  })
})
