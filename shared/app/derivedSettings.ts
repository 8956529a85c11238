/** Values the composition root derives from several settings (each documented in README's settings table). */
import type { Settings } from '../platform/config';

/**
 * How long a step holds a record before another instance may take it over: STEP_LEASE_SECONDS, else
 * every attempt of a Partner Center call plus its longest backoff ((timeout + 30 s) × attempts).
 */
export function stepLeaseDurationMs(settings: Settings): number {
  return settings.STEP_LEASE_SECONDS > 0
    ? settings.STEP_LEASE_SECONDS * 1000
    : (settings.PARTNER_CENTER_TIMEOUT_MS + 30_000) * settings.PARTNER_CENTER_MAX_ATTEMPTS;
}

/**
 * The builder of a record's status URL. Links are absolute, like HTTP answers: PUBLIC_BASE_URL, else the
 * origin of the HTTP request that created the record, else the app's own host name (`WEBSITE_HOSTNAME`, set
 * by the Functions platform; http for a local host name).
 */
export function statusUrlBuilder(
  settings: Pick<Settings, 'PUBLIC_BASE_URL'>,
  hostName: string | undefined,
): (trackingId: string, requestBaseUrl?: string) => string {
  const configuredBase = settings.PUBLIC_BASE_URL?.replace(/\/+$/, '');
  const platformBase = hostName
    ? `${/^(localhost|127\.0\.0\.1)(:|$)/.test(hostName) ? 'http' : 'https'}://${hostName}`
    : '';
  return (trackingId, requestBaseUrl) =>
    `${configuredBase ?? requestBaseUrl ?? platformBase}/api/referrals/${trackingId}`;
}
