/**
 * Names and defaults of the Partner Center event receiver (docs/events.md).
 *
 * [V] = stated by Partner Center's documentation (see the lifecycle reference); [I] = our inference.
 */

/** Queue of verified events waiting for the sync step (GET the referral, apply if newer). */
export const SYNC_QUEUE_NAME = 'referral-sync';

/** The event names Partner Center documents [V]; anything else is parsed as an unknown event. */
export const EventName = {
  ReferralCreated: 'referral-created',
  ReferralUpdated: 'referral-updated',
  RelatedReferralCreated: 'related-referral-created',
  RelatedReferralUpdated: 'related-referral-updated',
  /** The self-test event Partner Center's validation API sends [V]: answered 200, never enqueued. */
  TestCreated: 'test-created',
} as const;
export type EventName = (typeof EventName)[keyof typeof EventName];

/** Event names that carry a referral to sync (every known name except the self-test). */
export const SYNC_EVENT_NAMES = [
  EventName.ReferralCreated,
  EventName.ReferralUpdated,
  EventName.RelatedReferralCreated,
  EventName.RelatedReferralUpdated,
] as const;
export type SyncEventName = (typeof SYNC_EVENT_NAMES)[number];

/** Request headers of a signed delivery [V]. Lower case: header lookups are case-insensitive. */
export const EventHeader = {
  Authorization: 'authorization',
  Signature: 'x-ms-signature',
  SignatureAlgorithm: 'x-ms-signature-algorithm',
  CertificateUrl: 'x-ms-certificate-url',
  ContentLength: 'content-length',
} as const;

/** The only signature algorithm accepted (compared case-insensitively) [V]. */
export const SIGNATURE_ALGORITHM = 'rsa-sha256';

/** RSA padding of the signature: PKCS#1 v1.5 [I, from the .NET call of Microsoft's sample]; PSS as an escape hatch. */
export const SignaturePadding = { Pkcs1: 'pkcs1', Pss: 'pss' } as const;
export type SignaturePadding = (typeof SignaturePadding)[keyof typeof SignaturePadding];

/** Organisation the issuer of the signing certificate must name [V: "issuer organisation is Microsoft Corporation"]. */
export const REQUIRED_ISSUER_ORGANISATION = 'Microsoft Corporation';

/** Organisation that selects the default trusted roots out of Node's bundled root store. */
export const MICROSOFT_ROOT_ORGANISATION = 'Microsoft Corporation';

/** Where certificates may be fetched from by default: the documented example's host and folder [V]. */
export const DEFAULT_CERT_URL_ALLOWLIST = '3psostorageacct.blob.core.windows.net/cert/*';

/** Defaults of the EVENTS_* settings (shared/platform/config.ts). */
export const EventDefaults = {
  /** Largest event body read; documented bodies are about 300 bytes. */
  maxBodyBytes: 16 * 1024,
  /** Time budget of one certificate download. */
  certFetchTimeoutMs: 5_000,
  /** Largest certificate file read (a DER leaf is about 2 KiB; a PEM chain about 6 KiB). */
  certMaxBytes: 16 * 1024,
  /** How long a downloaded certificate is reused before it is fetched again. */
  certCacheTtlSeconds: 3_600,
  /** Events whose ResourceChangeUtcDate is older than this are refused as replays [I]. */
  maxAgeHours: 24,
} as const;

/** Most certificate URLs kept in the cache at once (least recently used goes first). */
export const CERT_CACHE_MAX_ENTRIES = 16;

/** Longest certificate chain walked (leaf, intermediates, root). */
export const MAX_CHAIN_DEPTH = 5;

/** How far in the future a ResourceChangeUtcDate may lie (clock skew) before the event is refused. */
export const FUTURE_SKEW_MS = 15 * 60_000;

/** Problem `type` slug of every refused delivery (401). */
export const UNAUTHENTICATED_PROBLEM_SLUG = 'event-unauthenticated';
/** Problem `type` slug of an authentic delivery whose body is not a Partner Center event (400). */
export const INVALID_EVENT_PROBLEM_SLUG = 'event-invalid';

/**
 * Why a delivery was refused: one stable code per check, in the order the checks run. A refused
 * delivery is answered 401 and changes nothing.
 */
export const RefusalReason = {
  BodyTooLarge: 'body-too-large',
  SignatureMissing: 'signature-missing',
  SignatureMalformed: 'signature-malformed',
  SignatureAmbiguous: 'signature-ambiguous',
  AlgorithmMissing: 'algorithm-missing',
  AlgorithmUnsupported: 'algorithm-unsupported',
  CertificateUrlMissing: 'certificate-url-missing',
  CertificateUrlNotAllowed: 'certificate-url-not-allowed',
  CertificateFetchFailed: 'certificate-fetch-failed',
  CertificateMalformed: 'certificate-malformed',
  CertificateNotYetValid: 'certificate-not-yet-valid',
  CertificateExpired: 'certificate-expired',
  CertificateUntrusted: 'certificate-untrusted',
  CertificateIssuerNotMicrosoft: 'certificate-issuer-not-microsoft',
  CertificateKeyUnsupported: 'certificate-key-unsupported',
  SignatureInvalid: 'signature-invalid',
  /** Checked after the signature, on the parsed body: the replay policy (docs/events.md). */
  EventTooOld: 'event-too-old',
  EventFromTheFuture: 'event-from-the-future',
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];
