/** One-line logs: `level message {json}`. Quiet in tests unless LOG_LEVEL says otherwise. */
export type Log = (msg: string, extra?: Record<string, unknown>) => void
export type Logger = { debug: Log; info: Log; warn: Log; error: Log }

const ORDER = { debug: 10, info: 20, warn: 30, error: 40 } as const

export function createLogger(
  level: keyof typeof ORDER = 'info',
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Logger {
  const make = (l: keyof typeof ORDER): Log =>
    ORDER[l] < ORDER[level]
      ? () => {}
      : (msg, extra) => write(`${new Date().toISOString()} ${l.padEnd(5)} ${msg}${extra ? ` ${JSON.stringify(extra)}` : ''}`)
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') }
}
