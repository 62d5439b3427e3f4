import { verifySignature } from '../../destinations/signature.js'
import { type FakeServer, bad, startFakeServer, unauthorized } from './fakeHttpServer.js'

/**
 * A webhook receiver as docs/destinations.md tells one to be written: it verifies the signature
 * over the raw body (401 otherwise, a stale time included) and keeps each delivery id once.
 */
export async function startFakeWebhookServer(secret: string): Promise<FakeServer & { deliveries: Map<string, any> }> {
  const deliveries = new Map<string, any>()
  const server = await startFakeServer((r) => {
    if (r.method !== 'POST' || r.path !== '/hooks/nudge') return { status: 404, json: { message: 'no such hook' } }
    if (!verifySignature(secret, r.headers['nudge-signature'] as string | undefined, r.body).ok) return unauthorized
    if (!r.json || typeof r.json.type !== 'string' || typeof r.json.userId !== 'string') return bad('type and userId are required')
    const id = String(r.headers['nudge-delivery-id'] ?? '')
    if (!deliveries.has(id)) deliveries.set(id, r.json)
    return { status: 204 }
  })
  return Object.assign(server, { deliveries })
}
