import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import nodeFetch from 'node-fetch';
import type { Logger } from '../platform/logging';
import type { TrackingView } from './trackingView';

/** Options for {@link CallbackNotifier}. */
export interface CallbackNotifierOptions {
  /** Allow http and loopback/private targets (the sandbox only). @default false */
  allowPrivateTargets?: boolean;
  /** Attempts per delivery. @default 3 */
  maxAttempts?: number;
  /** Time budget of one attempt. @default 5000 */
  timeoutMs?: number;
  fetch?: typeof nodeFetch;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
}

/** The outcome of one delivery. */
export type CallbackOutcome = 'delivered' | 'failed' | 'refused';

/**
 * POSTs the tracking view to a caller's `callbackUrl` when a record ends (completed, linked or
 * rejected). https only; loopback, private, link-local and other non-public addresses are refused
 * (after DNS resolution, so a public name pointing inside is refused too) unless the sandbox allows
 * them. Retried with backoff; never throws, so it cannot block the pipeline.
 */
export class CallbackNotifier {
  readonly #options: Required<Omit<CallbackNotifierOptions, 'logger' | 'fetch' | 'sleep'>> & CallbackNotifierOptions;

  constructor(options: CallbackNotifierOptions) {
    this.#options = { allowPrivateTargets: false, maxAttempts: 3, timeoutMs: 5000, ...options };
  }

  /** Delivers `view` to `url`; resolves to the outcome, never rejects. */
  async notify(url: string, view: TrackingView): Promise<CallbackOutcome> {
    const { logger } = this.#options;
    const target = await this.#checkTarget(url);
    if (!target.ok) {
      logger.warn('Callback refused', { trackingId: view.trackingId, reason: target.reason });
      return 'refused';
    }
    const fetch = this.#options.fetch ?? nodeFetch;
    const sleep = this.#options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    for (let attempt = 1; attempt <= this.#options.maxAttempts; attempt++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.#options.timeoutMs);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'User-Agent': 'cosell-referral-bridge' },
          body: JSON.stringify(view),
          redirect: 'manual',
          signal: controller.signal,
        });
        await response.text().catch(() => undefined);
        if (response.status >= 200 && response.status < 300) return 'delivered';
        if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429)
          break;
      } catch {
        /* retried below */
      } finally {
        clearTimeout(timer);
      }
      if (attempt < this.#options.maxAttempts) await sleep(250 * 2 ** attempt);
    }
    logger.warn('Callback delivery failed', { trackingId: view.trackingId });
    return 'failed';
  }

  async #checkTarget(url: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { ok: false, reason: 'not a URL' };
    }
    if (this.#options.allowPrivateTargets) return { ok: true };
    if (parsed.protocol !== 'https:') return { ok: false, reason: 'not https' };
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
    } catch {
      return { ok: false, reason: 'name does not resolve' };
    }
    if (addresses.length === 0 || addresses.some(isNonPublicAddress))
      return { ok: false, reason: 'non-public address' };
    return { ok: true };
  }
}

/** True for loopback, private, link-local, CGNAT, unspecified, multicast and unique-local addresses. */
export function isNonPublicAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) {
    const [a = 0, b = 0] = v4.split('.').map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      a >= 224 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 198 && (b === 18 || b === 19))
    );
  }
  const lower = address.toLowerCase();
  return (
    lower === '::' ||
    lower === '::1' ||
    lower.startsWith('fc') ||
    lower.startsWith('fd') ||
    lower.startsWith('fe80') ||
    lower.startsWith('ff')
  );
}
