/**
 * Where each table holds people's data, as the WHERE clause of its erasure. Parameters (bound,
 * never interpolated): `keys` (user id + linked anonymous ids), `messageIds` (mail sent to them),
 * `eventMessageIds` (their stored events), `emails` (their addresses).
 *
 * Every table of the schema is either here or in KEPT_TABLES with the reason it holds no one's
 * data; a test compares both with `system.tables`, so a new table must say which it is.
 */
export const ERASED_TABLES: Readonly<Record<string, string>> = {
  events: 'user_key IN {keys:Array(String)} OR user_id IN {keys:Array(String)} OR anonymous_id IN {keys:Array(String)}',
  // Journeys build some event ids from the run id, which names the user; late retries of erased
  // events are refused by the tombstone instead (they are timestamped before the erasure).
  message_ids: 'message_id IN {eventMessageIds:Array(String)}',
  traits: 'user_key IN {keys:Array(String)}',
  contacts: 'user_key IN {keys:Array(String)}',
  identities: 'user_id IN {keys:Array(String)} OR anonymous_id IN {keys:Array(String)}',
  consent: 'user_key IN {keys:Array(String)}',
  segment_membership: 'user_key IN {keys:Array(String)}',
  segment_transitions: 'user_key IN {keys:Array(String)}',
  experiment_exposures: 'unit IN {keys:Array(String)}',
  journey_runs: 'user_key IN {keys:Array(String)}',
  journey_steps: 'user_key IN {keys:Array(String)} OR message_id IN {messageIds:Array(String)}',
  send_ledger: 'user_key IN {keys:Array(String)} OR message_id IN {messageIds:Array(String)}',
  mailbox: 'message_id IN {messageIds:Array(String)} OR hasAny(rcpt_to, {emails:Array(String)})',
  discount_codes: 'user_key IN {keys:Array(String)} OR message_id IN {messageIds:Array(String)}',
  message_events: 'user_key IN {keys:Array(String)} OR message_id IN {messageIds:Array(String)}',
  message_bodies: 'user_key IN {keys:Array(String)} OR message_id IN {messageIds:Array(String)}',
  false_triggers: 'user_key IN {keys:Array(String)} OR message_id IN {messageIds:Array(String)}',
  // A person's pending records and dead letters for destinations go with them.
  destination_outbox: 'user_key IN {keys:Array(String)}',
}

/** Tables an erasure leaves, and why each holds no one's data (or must outlive them). */
export const KEPT_TABLES: Readonly<Record<string, string>> = {
  erasures: 'the erasure log: a keyed hash of the user id, when, how many rows, who asked',
  erased_ids: 'tombstones: keyed hashes of the erased ids, so late signals are dropped',
  suppressions:
    'a keyed hash of a bounced or complaining address (no id, no address): it must outlive the person, or the address would be mailed again when it comes back',
  segments: 'segment definitions (operator configuration)',
  experiments: 'experiment definitions (operator configuration)',
  flags: 'flag definitions (operator configuration)',
  flag_audit: 'who (an operator) changed a flag and how',
  journeys: 'journey definitions (operator configuration)',
  journey_router_progress: 'batch numbers the trigger router has routed',
  products: 'the product catalog',
  templates: 'email templates (operator content)',
  nudge_migrations: 'applied schema migrations',
  destinations: 'destination definitions (operator configuration)',
  destination_cursors: 'how far the destinations feeder has read each source table',
  // Materialised views store nothing themselves: they write into the tables above.
  events_to_message_ids: 'a materialised view into message_ids',
  segment_transitions_to_membership: 'a materialised view into segment_membership',
}
