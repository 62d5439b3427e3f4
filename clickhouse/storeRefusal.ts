/**
 * Whether the engine refused a write because of the data in it (a value it cannot parse or hold),
 * as opposed to being unavailable. The writer retries a failed group insert one request at a time,
 * so a refusal of one request alone is that request's data: retrying it can never succeed, and
 * answering 503 + Retry-After would have the client send the poison event forever.
 */
const DATA_ERROR_TYPES =
  /^(CANNOT_PARSE|CANNOT_READ|INCORRECT_DATA|ARGUMENT_OUT_OF_BOUND|VALUE_IS_OUT_OF_RANGE|DECIMAL_OVERFLOW|TOO_LARGE_STRING_SIZE|CANNOT_INSERT_NULL|TYPE_MISMATCH|INCORRECT_NUMBER_OF_COLUMNS|CANNOT_CONVERT_TYPE|ILLEGAL_TYPE_OF_ARGUMENT|TOO_DEEP_RECURSION)/
// The same, by number, when only the code came through: 6, 26, 27, 32, 33, 38, 41, 53, 69, 70, 72, 117, 131, 306, 407.
const DATA_ERROR_CODES = new Set(['6', '26', '27', '32', '33', '38', '41', '53', '69', '70', '72', '117', '131', '306', '407'])

export function isDataRefusal(err: unknown, depth = 0): boolean {
  // Causes are followed a few links deep only: a cycle of causes must not overflow the stack.
  if (err === null || typeof err !== 'object' || depth > 8) return false
  const e = err as { type?: unknown; code?: unknown; clickhouseCode?: unknown; cause?: unknown }
  if (typeof e.type === 'string' && DATA_ERROR_TYPES.test(e.type)) return true
  const code = e.clickhouseCode ?? e.code
  if ((typeof code === 'string' || typeof code === 'number') && DATA_ERROR_CODES.has(String(code))) return true
  return e.cause !== undefined && e.cause !== err ? isDataRefusal(e.cause, depth + 1) : false
}
