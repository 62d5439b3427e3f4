import type { DestinationRecord } from '../destinationRecord.js'
import type { SendResult } from './httpCall.js'

/** What delivery asks of a destination kind: send one record; delete a person where the API can. */
export interface Sender {
  send(record: DestinationRecord): Promise<SendResult>
  /** The destination's delete call for an erased user (their Nudge user id); absent when it has none. */
  erase?(userId: string): Promise<SendResult>
}
