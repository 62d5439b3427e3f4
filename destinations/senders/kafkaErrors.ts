import type { SendResult } from './httpCall.js'

/**
 * Broker answers that fail the same way however often they are sent: the record is too large,
 * Nudge may not write the topic, the topic or record is invalid, or a policy refuses it.
 */
const PERMANENT = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'POLICY_VIOLATION',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'INVALID_REQUIRED_ACKS',
])
const TIMEOUTS = new Set(['REQUEST_TIMED_OUT'])

/**
 * A kafkajs failure classified as delivery needs it. kafkajs wraps the broker's answer (a protocol
 * error with its `type`) in "retries exceeded"; the innermost known cause decides. Everything not
 * known to be permanent is retried — a broker away, a leader moving, not enough in-sync replicas
 * — and ends in the dead-letter list after the destination's attempts.
 */
export function classifyKafkaError(err: unknown): SendResult {
  const chain = causes(err)
  const reason = chain.map((e) => `${e.name}: ${e.message}`).join(' ← ')
  const type = chain.map((e) => (e as { type?: unknown }).type).find((t): t is string => typeof t === 'string')
  if (type && PERMANENT.has(type)) return { status: 'permanent', code: 'rejected', reason: `${type}: ${reason}` }
  if (chain.some((e) => e.name === 'KafkaJSSASLAuthenticationError'))
    return { status: 'permanent', code: 'rejected', reason: `authentication: ${reason}` }
  if ((type && TIMEOUTS.has(type)) || chain.some((e) => e.name === 'KafkaJSRequestTimeoutError'))
    return { status: 'retry', code: 'timeout', reason }
  if (chain.some((e) => /Connection|BrokerNotFound|NoBrokerAvailable/.test(e.name))) return { status: 'retry', code: 'network', reason }
  return { status: 'retry', code: 'unavailable', reason: type ? `${type}: ${reason}` : reason }
}

function causes(err: unknown): Error[] {
  const out: Error[] = []
  for (let e: unknown = err; e instanceof Error && out.length < 10; e = (e as { cause?: unknown }).cause) {
    if (out.includes(e)) break
    out.push(e)
  }
  return out.length ? out : [new Error(String(err))]
}
