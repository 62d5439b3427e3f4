import type { TrackingConfig } from '../delivery/composeMessage.js'
import type { Config } from './config.js'
import type { Secrets } from './secrets.js'

/** Links in mail point at PUBLIC_URL, or at this process once it listens (embedded default). */
export function trackingConfig(config: Config, secrets: Secrets, where: { url?: string }): TrackingConfig {
  return {
    publicUrl: () => config.PUBLIC_URL ?? where.url ?? `http://127.0.0.1:${config.PORT}`,
    key: secrets.linkSigningKey,
    previousKeys: secrets.previousLinkSigningKeys,
    opens: config.TRACK_OPENS,
    clicks: config.TRACK_CLICKS,
    mailDomain: /@([^>\s]+)/.exec(config.MAIL_FROM)?.[1] ?? 'nudge.local',
  }
}
