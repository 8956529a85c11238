/**
 * The registered URL's secret: the Function key rides as the `code` query parameter (Partner Center cannot
 * send headers), so every URL the bridge prints or stores goes through {@link redactWebhookUrl}, and keys are
 * told apart by {@link functionKeyFingerprint}, never stored.
 */
import { createHash } from 'node:crypto';

/** Query parameters whose value is a secret (the Function key is `code`). */
const SECRET_QUERY_PARAMETERS = new Set(['code', 'sig', 'key', 'token', 'access_token']);

/** Options of {@link webhookUrlIdentity}. */
export interface WebhookUrlIdentityOptions {
  /** Leave the `code` parameter out (EVENTS_WEBHOOK_URL is set without the key). @default false */
  ignoreKey?: boolean;
  /** Given (even null): `url` is already redacted and its key is this fingerprint (as stored). */
  keyFingerprint?: string | null;
}

/**
 * What makes two webhook URLs the same registration: the normalised URL and the fingerprint of its key
 * (so the same URL with another `code` value differs), never containing the key itself.
 */
export function webhookUrlIdentity(url: string, options: WebhookUrlIdentityOptions = {}): string {
  if (options.ignoreKey) return normaliseUrl(withoutKey(url));
  if (options.keyFingerprint !== undefined) return `${normaliseUrl(url)}#${options.keyFingerprint ?? ''}`;
  return `${normaliseUrl(redactWebhookUrl(url))}#${functionKeyFingerprint(url) ?? ''}`;
}

/** The URL with every secret query value (`code`, …) replaced by `***`: safe to print and store. */
export function redactWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    for (const name of [...parsed.searchParams.keys()])
      if (SECRET_QUERY_PARAMETERS.has(name.toLowerCase())) parsed.searchParams.set(name, '***');
    return parsed.href;
  } catch {
    return '(not a URL)';
  }
}

/** `url` with `code=<functionKey>` set (replacing any `code` already there). */
export function withFunctionKey(url: string, functionKey: string | undefined): string {
  if (!functionKey) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('code', functionKey);
  return parsed.href;
}

/** A short, non-reversible fingerprint of the `code` value (tells keys apart without storing one), or undefined. */
export function functionKeyFingerprint(url: string): string | undefined {
  try {
    const code = new URL(url).searchParams.get('code');
    return code ? createHash('sha256').update(code).digest('hex').slice(0, 12) : undefined;
  } catch {
    return undefined;
  }
}

function normaliseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.sort();
    return parsed.href;
  } catch {
    return url;
  }
}

/** The URL without its `code` parameter. */
function withoutKey(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.delete('code');
    return parsed.href;
  } catch {
    return url;
  }
}
