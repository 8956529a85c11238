/**
 * The certificate URL allow-list: which `X-MS-Certificate-Url` values may be downloaded at all.
 *
 * The setting (EVENTS_CERT_URL_ALLOWLIST) lists entries separated by commas or spaces, each
 * `host[:port]/path` where the path may end in `*`: one final path segment of letters, digits, `.`, `_`
 * or `-`. Default: `3psostorageacct.blob.core.windows.net/cert/*`, the documented example's folder.
 * A URL passes only when it is https, already in canonical form (what `new URL(value).href` gives back:
 * no dot segments, no backslashes, no upper-case host, no explicit :443), has no user info, query or
 * fragment, and its host and path match an entry exactly.
 */
import { CertificateAllowlistError } from './errors';

/** One parsed allow-list entry. */
export interface CertificateUrlRule {
  /** `host` or `host:port`, lower case, as `URL.host` spells it. */
  host: string;
  /** The path before the wildcard, or the whole path when `wildcard` is false. */
  path: string;
  /** True when the entry ends in `*` (one more path segment). */
  wildcard: boolean;
}

/** Longest certificate URL looked at. */
const MAX_URL_LENGTH = 2048;
/** What the `*` of an entry matches: one path segment of safe characters. */
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Parses the allow-list setting; throws {@link CertificateAllowlistError} for an entry it cannot read. */
export function parseCertificateUrlAllowlist(setting: string): CertificateUrlRule[] {
  const entries = setting.split(/[\s,]+/).filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new CertificateAllowlistError('EVENTS_CERT_URL_ALLOWLIST lists no entry');
  return entries.map((entry) => {
    const bare = entry.replace(/^https:\/\//i, '');
    const slash = bare.indexOf('/');
    if (slash <= 0) throw new CertificateAllowlistError(`allow-list entry '${entry}' needs a host and a path`);
    let host: string;
    try {
      host = new URL(`https://${bare.slice(0, slash)}`).host;
    } catch {
      throw new CertificateAllowlistError(`allow-list entry '${entry}' has an invalid host`);
    }
    const rawPath = bare.slice(slash);
    const wildcard = rawPath.endsWith('*');
    const path = wildcard ? rawPath.slice(0, -1) : rawPath;
    if (path.includes('*') || (wildcard && !path.endsWith('/')) || !/^\/[A-Za-z0-9._\-/]*$/.test(path))
      throw new CertificateAllowlistError(`allow-list entry '${entry}' has an invalid path (a '*' may only end it)`);
    return { host, path, wildcard };
  });
}

/** The certificate URL as a URL when the allow-list permits downloading it, else undefined. */
export function allowedCertificateUrl(value: string, rules: readonly CertificateUrlRule[]): URL | undefined {
  if (value.length === 0 || value.length > MAX_URL_LENGTH || /[?#]/.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.href !== value) return undefined;
  if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash) return undefined;
  const matches = rules.some((rule) => {
    if (rule.host !== url.host) return false;
    if (!rule.wildcard) return url.pathname === rule.path;
    return url.pathname.startsWith(rule.path) && SEGMENT.test(url.pathname.slice(rule.path.length));
  });
  return matches ? url : undefined;
}
