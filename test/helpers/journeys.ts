import { expect } from 'vitest'
import { admin, post } from './harness.js'

/** Polls until `fn` returns something truthy (or throws after `ms`). */
export async function waitFor<T>(fn: () => Promise<T | undefined | false | null>, ms = 20_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface Captured {
  messageId: string
  to: string[]
  subject: string
  deliveries: number
}

export async function messagesTo(base: string, email: string): Promise<Captured[]> {
  const res = await admin(`${base}/api/messages?to=${encodeURIComponent(email)}`)
  return res.json.messages
}

export async function rawMessage(base: string, id: string): Promise<string> {
  const res = await fetch(`${base}/api/messages/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${process.env.NUDGE_TEST_ADMIN ?? 'admin_test_key_123'}` },
  })
  return res.text()
}

/** Saves and activates a journey; fails the test with the API's issues otherwise. */
export async function activeJourney(base: string, def: unknown): Promise<void> {
  const created = await admin(`${base}/api/journeys`, 'POST', def)
  if (created.status !== 201) throw new Error(`journey not created: ${JSON.stringify(created.json)}`)
  const activated = await admin(`${base}/api/journeys/${(def as { id: string }).id}/activate`, 'POST')
  if (activated.status !== 200) throw new Error(`journey not activated: ${JSON.stringify(activated.json)}`)
}

export async function identify(base: string, userId: string, traits: Record<string, unknown>): Promise<void> {
  const res = await post(`${base}/v1/identify`, { userId, traits })
  if (res.status !== 200) throw new Error(`identify failed: ${res.text}`)
}

export async function track(
  base: string,
  userId: string,
  event: string,
  properties: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<void> {
  const res = await post(`${base}/v1/track`, { userId, event, properties, ...extra })
  if (res.status !== 200) throw new Error(`track failed: ${res.text}`)
}

export async function runsOf(base: string, journeyId: string, user?: string) {
  const res = await admin(`${base}/api/journeys/${journeyId}/runs${user ? `?user=${encodeURIComponent(user)}` : ''}`)
  return res.json.runs as {
    workflowId: string
    userKey: string
    correlation: string
    endedAt: string | null
    outcome: string
    test: boolean
  }[]
}

/** The user's first run of the journey once it has ended. */
export async function endedRun(base: string, journeyId: string, user: string, ms = 15_000) {
  return waitFor(async () => (await runsOf(base, journeyId, user)).find((r) => r.endedAt), ms, `the ${journeyId} run of ${user} to end`)
}

/** After a crash and restart: every user gets their message, and exactly one, with this subject. */
export async function expectOneMessageEach(base: string, users: readonly string[], subject: (user: string) => string): Promise<void> {
  for (const u of users) await waitFor(async () => (await messagesTo(base, `${u}@example.test`)).length > 0, 60_000, `the message to ${u}`)
  await sleep(1000) // a duplicate would arrive within this
  for (const u of users) {
    const got = await messagesTo(base, `${u}@example.test`)
    expect(got, u).toHaveLength(1)
    expect(got[0]!.subject).toBe(subject(u))
  }
}
