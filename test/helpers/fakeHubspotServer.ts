import { type FakeServer, bad, startFakeServer, unauthorized } from './fakeHttpServer.js'

/**
 * HubSpot's CRM v3 shapes: contacts upserted by a unique property (`batch/upsert`, answering each
 * contact's id), custom event occurrences (`/events/v3/send`, 204) and the GDPR delete. Bearer
 * auth with the private app token; an unknown contact's GDPR delete is a 404.
 */
export interface FakeHubspot extends FakeServer {
  /** Contacts by the unique property's value: their HubSpot id and properties. */
  contacts: Map<string, { id: string; properties: Record<string, string> }>
  events: { eventName: string; objectId: string; occurredAt: string; properties: Record<string, unknown> }[]
  deleted: string[]
}

export async function startFakeHubspotServer(token: string): Promise<FakeHubspot> {
  const contacts = new Map<string, { id: string; properties: Record<string, string> }>()
  const events: FakeHubspot['events'] = []
  const deleted: string[] = []
  let next = 1000
  const server = await startFakeServer((r) => {
    if (r.headers.authorization !== `Bearer ${token}`) return unauthorized
    if (r.method === 'POST' && r.path === '/crm/v3/objects/contacts/batch/upsert') {
      const inputs = r.json?.inputs
      if (!Array.isArray(inputs) || !inputs.length) return bad('inputs is required')
      if (inputs.some((i: any) => typeof i.idProperty !== 'string')) return bad('idProperty is required')
      if (inputs.some((i: any) => Object.values(i.properties ?? {}).some((v) => typeof v !== 'string')))
        return bad('property values must be strings')
      const results = inputs.map((i: any) => {
        const c = contacts.get(i.id) ?? { id: String(next++), properties: {} }
        Object.assign(c.properties, i.properties ?? {})
        contacts.set(i.id, c)
        return { id: c.id, properties: c.properties, new: false }
      })
      return { status: 200, json: { status: 'COMPLETE', results } }
    }
    if (r.method === 'POST' && r.path === '/events/v3/send') {
      const e = r.json
      if (!e?.eventName || !(e.objectId || e.email || e.utk)) return bad('eventName and one of objectId, email, utk are required')
      events.push(e)
      return { status: 204 }
    }
    if (r.method === 'POST' && r.path === '/crm/v3/objects/contacts/gdpr-delete') {
      const key = r.json?.idProperty ? r.json.objectId : [...contacts].find(([, c]) => c.id === r.json?.objectId)?.[0]
      if (!key || !contacts.has(key)) return { status: 404, json: { status: 'error', message: 'contact not found' } }
      contacts.delete(key)
      deleted.push(key)
      return { status: 204 }
    }
    return { status: 404, json: { status: 'error', message: `no route ${r.method} ${r.path}` } }
  })
  return Object.assign(server, { contacts, events, deleted })
}
