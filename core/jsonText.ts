/** Stored JSON text (traits, properties) read back: the value, or the text itself when it is not JSON. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Stored JSON text that should hold an object (event properties, context); anything else reads as {}. */
export function parseJsonObject(text: string): Record<string, unknown> {
  const v = parseJsonText(text)
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}
