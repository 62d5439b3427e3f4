import { type FakeServer, startFakeServer } from './fakeHttpServer.js'

/**
 * Salesforce REST: sObject rows by external ID — PATCH upserts (201 created, 204 updated), DELETE
 * removes (204; 404 when none). Bearer auth (401 INVALID_SESSION_ID otherwise); errors are the
 * documented array of { message, errorCode }; the body may not name the external-ID field itself.
 */
export interface FakeSalesforce extends FakeServer {
  records: Map<string, Record<string, unknown>>
}

const sfError = (status: number, errorCode: string, message: string) => ({ status, json: [{ message, errorCode }] })

export async function startFakeSalesforceServer(token: string, o: { object?: string; field?: string } = {}): Promise<FakeSalesforce> {
  const records = new Map<string, Record<string, unknown>>()
  const prefix = `/services/data/v60.0/sobjects/${o.object ?? 'Contact'}/${o.field ?? 'Nudge_User_Id__c'}/`
  const server = await startFakeServer((r) => {
    if (r.headers.authorization !== `Bearer ${token}`) return sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid')
    if (!r.path.startsWith(prefix)) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist')
    const id = decodeURIComponent(r.path.slice(prefix.length))
    if (r.method === 'PATCH') {
      if (!r.json || typeof r.json !== 'object' || Array.isArray(r.json)) return sfError(400, 'JSON_PARSER_ERROR', 'body must be an object')
      if ((o.field ?? 'Nudge_User_Id__c') in r.json) return sfError(400, 'INVALID_FIELD', 'external id in body')
      const existed = records.has(id)
      records.set(id, { ...records.get(id), ...r.json })
      return existed ? { status: 204 } : { status: 201, json: { id: `003${id}`, success: true, errors: [], created: true } }
    }
    if (r.method === 'DELETE') {
      if (!records.delete(id)) return sfError(404, 'NOT_FOUND', 'Provided external ID field does not exist or is not accessible')
      return { status: 204 }
    }
    return sfError(405, 'METHOD_NOT_ALLOWED', 'method not allowed')
  })
  return Object.assign(server, { records })
}
