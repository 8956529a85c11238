/**
 * Downloads the signing certificate named by a delivery: https only (the URL has passed the allow-list
 * before it gets here), no redirects, a time budget (`AbortSignal.timeout`), a size cap, DER or PEM.
 * Downloads are cached by URL (bounded, least recently used first, with a TTL) and shared while in
 * flight, so a burst of events costs one download. Failures are not cached.
 *
 * ```
 * event A ──get(url)──► miss ──► download ─────────────┐
 * event B ──get(url)──► in flight: same promise ───────┤──► cached until ttl
 * event C ──get(url)──► hit ───────────────────────────┘
 * ```
 */
import { X509Certificate } from 'node:crypto';
import { request, type Agent } from 'node:https';
import { CERT_CACHE_MAX_ENTRIES, EventDefaults } from './constants';
import { certificatesFromPem } from './certificateChain';
import { CertificateFetchError, CertificateFetchFailure } from './errors';

/** A downloaded certificate: the leaf, and any further certificates of a PEM file (intermediates). */
export interface FetchedCertificate {
  leaf: X509Certificate;
  intermediates: X509Certificate[];
}

/** Where the verifier gets certificates from (tests may pass their own). */
export interface CertificateSource {
  /** The certificate at `url`; throws {@link CertificateFetchError}. */
  get(url: URL): Promise<FetchedCertificate>;
}

/** Options of {@link HttpsCertificateSource}. */
export interface HttpsCertificateSourceOptions {
  /** Time budget of one download. @default 5000 */
  timeoutMs?: number;
  /** Largest file read. @default 16 KiB */
  maxBytes?: number;
  /** How long a download is reused. @default 3600000 */
  cacheTtlMs?: number;
  /** Most URLs cached. @default 16 */
  cacheMaxEntries?: number;
  /** The clock of the cache. @default Date.now */
  nowMs?: () => number;
  /** CA certificates (PEM) the TLS connection trusts instead of Node's store (tests). */
  tlsCa?: string | string[];
  /** An https agent (tests). */
  agent?: Agent;
}

interface CacheEntry {
  certificate: FetchedCertificate;
  expiresAtMs: number;
}

/** The production {@link CertificateSource}: node:https with the limits above. */
export class HttpsCertificateSource implements CertificateSource {
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #cacheTtlMs: number;
  readonly #cacheMaxEntries: number;
  readonly #nowMs: () => number;
  readonly #tlsCa: string | string[] | undefined;
  readonly #agent: Agent | undefined;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inFlight = new Map<string, Promise<FetchedCertificate>>();
  /** Downloads started (tests and the fuzz figures read it). */
  downloads = 0;

  constructor(options: HttpsCertificateSourceOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? EventDefaults.certFetchTimeoutMs;
    this.#maxBytes = options.maxBytes ?? EventDefaults.certMaxBytes;
    this.#cacheTtlMs = options.cacheTtlMs ?? EventDefaults.certCacheTtlSeconds * 1000;
    this.#cacheMaxEntries = options.cacheMaxEntries ?? CERT_CACHE_MAX_ENTRIES;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#tlsCa = options.tlsCa;
    this.#agent = options.agent;
  }

  /** The certificate at `url`, from the cache when fresh. */
  async get(url: URL): Promise<FetchedCertificate> {
    const key = url.href;
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAtMs > this.#nowMs()) {
      this.#cache.delete(key);
      this.#cache.set(key, cached);
      return cached.certificate;
    }
    if (cached) this.#cache.delete(key);
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const download = this.#download(url)
      .then((certificate) => {
        this.#remember(key, certificate);
        return certificate;
      })
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, download);
    return download;
  }

  #remember(key: string, certificate: FetchedCertificate): void {
    this.#cache.set(key, { certificate, expiresAtMs: this.#nowMs() + this.#cacheTtlMs });
    while (this.#cache.size > this.#cacheMaxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }

  async #download(url: URL): Promise<FetchedCertificate> {
    this.downloads++;
    const bytes = await this.#readBytes(url);
    return parseCertificateFile(bytes);
  }

  #readBytes(url: URL): Promise<Buffer> {
    if (url.protocol !== 'https:') {
      return Promise.reject(new CertificateFetchError(CertificateFetchFailure.Network, 'Only https is fetched'));
    }
    const signal = AbortSignal.timeout(this.#timeoutMs);
    return new Promise<Buffer>((resolve, reject) => {
      const fail = (error: CertificateFetchError): void => {
        req.destroy();
        reject(error);
      };
      const req = request(
        url,
        {
          method: 'GET',
          headers: { accept: 'application/pkix-cert, application/x-x509-ca-cert, application/x-pem-file, */*' },
          signal,
          ...(this.#tlsCa ? { ca: this.#tlsCa } : {}),
          ...(this.#agent ? { agent: this.#agent } : {}),
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            response.resume();
            return fail(
              new CertificateFetchError(CertificateFetchFailure.Redirect, `Certificate URL redirects (${status})`),
            );
          }
          if (status !== 200) {
            response.resume();
            return fail(
              new CertificateFetchError(CertificateFetchFailure.Status, `Certificate URL answered ${status}`, {
                retryable: status >= 500 || status === 429,
              }),
            );
          }
          const declared = Number(response.headers['content-length'] ?? '0');
          if (declared > this.#maxBytes) {
            return fail(new CertificateFetchError(CertificateFetchFailure.TooLarge, 'Certificate file too large'));
          }
          const chunks: Buffer[] = [];
          let length = 0;
          response.on('data', (chunk: Buffer) => {
            length += chunk.length;
            if (length > this.#maxBytes) {
              fail(new CertificateFetchError(CertificateFetchFailure.TooLarge, 'Certificate file too large'));
              return;
            }
            chunks.push(chunk);
          });
          response.on('end', () => resolve(Buffer.concat(chunks)));
          response.on('error', (error) => fail(networkError(error, signal)));
        },
      );
      req.on('error', (error) => reject(networkError(error, signal)));
      req.end();
    });
  }
}

/** Reads a certificate file: PEM (the first certificate is the leaf, the rest intermediates) or DER. */
export function parseCertificateFile(bytes: Buffer): FetchedCertificate {
  try {
    const text = bytes.toString('latin1');
    if (text.includes('-----BEGIN CERTIFICATE-----')) {
      const [leaf, ...intermediates] = certificatesFromPem(text);
      if (leaf) return { leaf, intermediates };
    } else {
      return { leaf: new X509Certificate(bytes), intermediates: [] };
    }
  } catch (error) {
    throw new CertificateFetchError(CertificateFetchFailure.Malformed, 'Not a DER or PEM certificate', {
      cause: error,
    });
  }
  throw new CertificateFetchError(CertificateFetchFailure.Malformed, 'Not a DER or PEM certificate');
}

function networkError(error: Error, signal: AbortSignal): CertificateFetchError {
  if (error instanceof CertificateFetchError) return error;
  const timedOut = signal.aborted || error.name === 'AbortError' || error.name === 'TimeoutError';
  return new CertificateFetchError(
    timedOut ? CertificateFetchFailure.Timeout : CertificateFetchFailure.Network,
    timedOut ? 'Certificate download timed out' : `Certificate download failed: ${error.message}`,
    { cause: error },
  );
}
