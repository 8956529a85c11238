/**
 * Verifies a Partner Center delivery before anything reads its body: the signature over the raw bytes,
 * made with a certificate downloaded from an allow-listed URL that chains to a trusted Microsoft root.
 *
 * Checks, in order (the first that fails is the verdict's reason):
 * body size → signature header (`Authorization: Signature <b64>` or `x-ms-signature`) → algorithm
 * (`rsa-sha256` only) → certificate URL present and allow-listed → download → certificate dates, issuer
 * organisation, chain → RSA-SHA256 signature over the body bytes.
 * The only side effect is the certificate download (through the injected {@link CertificateSource}).
 */
import { constants as cryptoConstants, verify as verifySignature, type KeyObject } from 'node:crypto';
import { EventDefaults, EventHeader, RefusalReason, SIGNATURE_ALGORITHM, SignaturePadding } from './constants';
import { verifyCertificateChain, type TrustAnchors } from './certificateChain';
import { allowedCertificateUrl, type CertificateUrlRule } from './certificateUrl';
import type { CertificateSource } from './certificateSource';
import { CertificateFetchError, CertificateFetchFailure } from './errors';

/** Case-insensitive header lookup (fetch `Headers`, the Functions `HttpRequest.headers`). */
export interface HeaderSource {
  get(name: string): string | null | undefined;
}

/** The verdict on one delivery. `detail` is ours (never a header or body value). */
export type SignatureVerdict =
  | { ok: true; certificateUrl: string; certificateFingerprint: string }
  | { ok: false; reason: RefusalReason; detail?: string; retryable?: boolean };

/** Options of {@link SignatureVerifier}. */
export interface SignatureVerifierOptions {
  certificates: CertificateSource;
  allowlist: readonly CertificateUrlRule[];
  anchors: TrustAnchors;
  /** Largest body accepted. @default 16 KiB */
  maxBodyBytes?: number;
  /** RSA padding [I]. @default 'pkcs1' */
  padding?: SignaturePadding;
  /** The clock certificate dates are checked against. @default Date.now */
  nowMs?: () => number;
}

/** Longest signature header value read (base64 of an RSA-8192 signature is 1,368 characters). */
const MAX_SIGNATURE_LENGTH = 1400;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Verifies deliveries; one instance per process (it holds no state besides its options). */
export class SignatureVerifier {
  readonly #options: Required<SignatureVerifierOptions>;

  constructor(options: SignatureVerifierOptions) {
    this.#options = {
      maxBodyBytes: EventDefaults.maxBodyBytes,
      padding: SignaturePadding.Pkcs1,
      nowMs: Date.now,
      ...options,
    };
  }

  /** The verdict on `body` as delivered with `headers`. Never throws. */
  async verify(headers: HeaderSource, body: Uint8Array): Promise<SignatureVerdict> {
    const { maxBodyBytes, allowlist, certificates, anchors } = this.#options;
    const declaredLength = Number(headers.get(EventHeader.ContentLength) ?? '0');
    if (body.byteLength > maxBodyBytes || (Number.isFinite(declaredLength) && declaredLength > maxBodyBytes)) {
      return refuse(RefusalReason.BodyTooLarge);
    }
    const signature = readSignature(headers);
    if (!Buffer.isBuffer(signature)) return refuse(signature);
    const algorithm = headers.get(EventHeader.SignatureAlgorithm)?.trim();
    if (!algorithm) return refuse(RefusalReason.AlgorithmMissing);
    if (algorithm.toLowerCase() !== SIGNATURE_ALGORITHM) return refuse(RefusalReason.AlgorithmUnsupported);
    const certificateUrl = headers.get(EventHeader.CertificateUrl)?.trim();
    if (!certificateUrl) return refuse(RefusalReason.CertificateUrlMissing);
    const url = allowedCertificateUrl(certificateUrl, allowlist);
    if (!url) return refuse(RefusalReason.CertificateUrlNotAllowed);

    let fetched;
    try {
      fetched = await certificates.get(url);
    } catch (error) {
      const fetchError = error instanceof CertificateFetchError ? error : undefined;
      if (fetchError?.failure === CertificateFetchFailure.Malformed) return refuse(RefusalReason.CertificateMalformed);
      return {
        ok: false,
        reason: RefusalReason.CertificateFetchFailed,
        detail: fetchError?.failure ?? CertificateFetchFailure.Network,
        retryable: fetchError?.retryable ?? true,
      };
    }
    const chain = verifyCertificateChain(fetched.leaf, fetched.intermediates, anchors, this.#options.nowMs());
    if (!chain.ok) return refuse(chain.reason);
    if (!this.#signatureMatches(body, signature, fetched.leaf.publicKey)) return refuse(RefusalReason.SignatureInvalid);
    return { ok: true, certificateUrl: url.href, certificateFingerprint: fetched.leaf.fingerprint256 };
  }

  #signatureMatches(body: Uint8Array, signature: Buffer, key: KeyObject): boolean {
    const pss = this.#options.padding === SignaturePadding.Pss;
    try {
      return verifySignature(
        'sha256',
        body,
        {
          key,
          padding: pss ? cryptoConstants.RSA_PKCS1_PSS_PADDING : cryptoConstants.RSA_PKCS1_PADDING,
          ...(pss ? { saltLength: cryptoConstants.RSA_PSS_SALTLEN_AUTO } : {}),
        },
        signature,
      );
    } catch {
      return false;
    }
  }
}

function refuse(reason: RefusalReason): SignatureVerdict {
  return { ok: false, reason };
}

/**
 * The signature bytes from `Authorization: Signature <b64>` or `x-ms-signature: [Signature ]<b64>`.
 * An Authorization header of another scheme is not a signature. Both headers with different values:
 * ambiguous, refused. Only canonical base64 is read.
 */
function readSignature(headers: HeaderSource): Buffer | RefusalReason {
  const authorization = headers.get(EventHeader.Authorization)?.trim();
  const fromAuthorization =
    authorization && /^signature\s/i.test(authorization) ? stripScheme(authorization) : undefined;
  const msSignature = headers.get(EventHeader.Signature)?.trim();
  const fromHeader = msSignature ? stripScheme(msSignature) : undefined;
  if (fromAuthorization === undefined && fromHeader === undefined) return RefusalReason.SignatureMissing;
  if (fromAuthorization !== undefined && fromHeader !== undefined && fromAuthorization !== fromHeader)
    return RefusalReason.SignatureAmbiguous;
  const text = (fromAuthorization ?? fromHeader) as string;
  if (text.length === 0 || text.length > MAX_SIGNATURE_LENGTH || text.length % 4 !== 0 || !BASE64.test(text))
    return RefusalReason.SignatureMalformed;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return RefusalReason.SignatureMalformed;
  return bytes;
}

function stripScheme(value: string): string {
  return value.replace(/^signature\s+/i, '').trim();
}
