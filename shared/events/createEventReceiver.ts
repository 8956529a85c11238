/**
 * Builds the process-wide {@link EventReceiver} from the EVENTS_* settings (docs/events.md). A bad
 * allow-list or an unreadable roots/intermediates file fails with a {@link ConfigError} naming the setting.
 */
import { ConfigError, type Settings } from '../platform/config';
import { loadTrustAnchors, type TrustAnchors } from './certificateChain';
import { HttpsCertificateSource, type CertificateSource } from './certificateSource';
import { parseCertificateUrlAllowlist, type CertificateUrlRule } from './certificateUrl';
import { EventReceiver, type EventQueue } from './receiveEvent';
import { SignatureVerifier } from './signatureVerifier';

/** The settings the receiver reads. */
export type EventSettings = Pick<
  Settings,
  | 'EVENTS_CERT_URL_ALLOWLIST'
  | 'EVENTS_TRUSTED_ROOTS_PATH'
  | 'EVENTS_CERT_INTERMEDIATES_PATH'
  | 'EVENTS_MAX_BODY_BYTES'
  | 'EVENTS_CERT_FETCH_TIMEOUT_MS'
  | 'EVENTS_CERT_MAX_BYTES'
  | 'EVENTS_CERT_CACHE_TTL_SECONDS'
  | 'EVENTS_MAX_AGE_HOURS'
  | 'EVENTS_SIGNATURE_PADDING'
>;

/** Dependencies of {@link createEventReceiver}. */
export interface CreateEventReceiverOptions {
  /** The `referral-sync` sender. */
  queue: EventQueue;
  /** Replaces the https certificate source (tests). */
  certificates?: CertificateSource;
  /** @default Date.now */
  nowMs?: () => number;
}

/** The receiver, its verifier and certificate source, from settings. */
export function createEventReceiver(settings: EventSettings, options: CreateEventReceiverOptions): EventReceiver {
  const nowMs = options.nowMs ?? Date.now;
  const allowlist = readSetting('EVENTS_CERT_URL_ALLOWLIST', (): CertificateUrlRule[] =>
    parseCertificateUrlAllowlist(settings.EVENTS_CERT_URL_ALLOWLIST),
  );
  const anchors = readSetting(
    settings.EVENTS_TRUSTED_ROOTS_PATH ? 'EVENTS_TRUSTED_ROOTS_PATH' : 'EVENTS_CERT_INTERMEDIATES_PATH',
    (): TrustAnchors =>
      loadTrustAnchors({
        rootsPemPath: settings.EVENTS_TRUSTED_ROOTS_PATH,
        intermediatesPemPath: settings.EVENTS_CERT_INTERMEDIATES_PATH,
      }),
  );
  const certificates =
    options.certificates ??
    new HttpsCertificateSource({
      timeoutMs: settings.EVENTS_CERT_FETCH_TIMEOUT_MS,
      maxBytes: settings.EVENTS_CERT_MAX_BYTES,
      cacheTtlMs: settings.EVENTS_CERT_CACHE_TTL_SECONDS * 1000,
      nowMs,
    });
  const verifier = new SignatureVerifier({
    certificates,
    allowlist,
    anchors,
    maxBodyBytes: settings.EVENTS_MAX_BODY_BYTES,
    padding: settings.EVENTS_SIGNATURE_PADDING,
    nowMs,
  });
  return new EventReceiver({
    verifier,
    queue: options.queue,
    maxAgeMs: settings.EVENTS_MAX_AGE_HOURS * 3_600_000,
    nowMs,
  });
}

function readSetting<T>(name: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new ConfigError([{ name, problem: error instanceof Error ? error.message : String(error) }]);
  }
}
