import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

/**
 * A real HTTP server on loopback for a destination's fakes: it records every request and answers
 * through the kind's handler (its documented paths, auth and body shape), unless a scripted fault
 * is queued: an error status (429 with Retry-After, 5xx, 4xx) or a hang past the client's timeout.
 */
export interface Received {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
  json: any
  at: number
}

export type Fault = { status: number; retryAfter?: string; body?: string } | 'hang'

export type Answer = { status: number; json?: unknown; headers?: Record<string, string> }
export type Handler = (req: Received) => Answer

export interface FakeServer {
  url: string
  /** Requests the handler accepted (2xx), in order. */
  accepted: Received[]
  /** Every request, faults and refusals included. */
  all: Received[]
  /** The next requests fail like this, one fault each. */
  fail(...faults: Fault[]): void
  /** Every request fails like this until `heal()`. */
  failAlways(fault: Fault): void
  heal(): void
  close(): Promise<void>
}

export async function startFakeServer(handler: Handler): Promise<FakeServer> {
  const accepted: Received[] = []
  const all: Received[] = []
  const faults: Fault[] = []
  let always: Fault | undefined
  const hanging = new Set<ServerResponse>()
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let json: any
      try {
        json = body ? JSON.parse(body) : undefined
      } catch {
        json = undefined
      }
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json, at: Date.now() }
      all.push(r)
      const fault = faults.shift() ?? always
      if (fault === 'hang') {
        hanging.add(res)
        return
      }
      if (fault) {
        res.writeHead(fault.status, {
          'content-type': 'application/json',
          ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}),
        })
        res.end(fault.body ?? JSON.stringify({ message: 'scripted fault' }))
        return
      }
      const a = handler(r)
      if (a.status < 300) accepted.push(r)
      res.writeHead(a.status, { ...(a.json !== undefined ? { 'content-type': 'application/json' } : {}), ...a.headers })
      res.end(a.json !== undefined ? JSON.stringify(a.json) : undefined)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    all,
    fail: (...f) => faults.push(...f),
    failAlways: (f) => (always = f),
    heal: () => (always = undefined),
    close: async () => {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export const bad = (message: string): Answer => ({ status: 400, json: { status: 'error', message } })
export const unauthorized: Answer = { status: 401, json: { status: 'error', message: 'authentication failed' } }
