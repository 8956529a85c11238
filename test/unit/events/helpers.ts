/**
 * Fixture of the event tests: the PKI of bench/lib/eventPki.ts, its https certificate server, and a
 * verifier wired to both with the PKI's clock.
 */
import {
  createEventPki,
  deliveryHeaders,
  eventBody,
  signBody,
  startCertificateServer,
  type CertificateServer,
  type EventPki,
  Signer,
} from '../../../bench/lib/eventPki';
import { certificatesFromPem } from '../../../shared/events/certificateChain';
import { HttpsCertificateSource, type HttpsCertificateSourceOptions } from '../../../shared/events/certificateSource';
import { parseCertificateUrlAllowlist } from '../../../shared/events/certificateUrl';
import { SignatureVerifier, type SignatureVerifierOptions } from '../../../shared/events/signatureVerifier';

/** The fixture, filled in by `beforeAll`. */
export interface EventFixture {
  pki: EventPki;
  server: CertificateServer;
  /** A certificate source that trusts the server's TLS certificate. */
  source(options?: HttpsCertificateSourceOptions): HttpsCertificateSource;
  /** A verifier that allow-lists the server's /cert/ folder and trusts the PKI's roots. */
  verifier(options?: Partial<SignatureVerifierOptions>): SignatureVerifier;
  /** A delivery signed by `signer` with its certificate served from the server. */
  delivery(options?: {
    signer?: Signer;
    body?: Buffer;
    style?: 'authorization' | 'x-ms-signature' | 'x-ms-signature-prefixed';
    format?: 'der' | 'pem';
  }): { headers: Headers; body: Buffer };
}

/** Starts the PKI and the certificate server around the suite. */
export function useEventFixture(): EventFixture {
  const fixture = {} as EventFixture;
  beforeAll(async () => {
    const pki = await createEventPki();
    const server = await startCertificateServer(pki);
    fixture.pki = pki;
    fixture.server = server;
    fixture.source = (options = {}) =>
      new HttpsCertificateSource({ tlsCa: pki.tls.caPem, timeoutMs: 5_000, nowMs: () => pki.nowMs, ...options });
    fixture.verifier = (options = {}) =>
      new SignatureVerifier({
        certificates: fixture.source(),
        allowlist: parseCertificateUrlAllowlist(`${server.host}/cert/*`),
        anchors: { roots: certificatesFromPem(pki.trustedRootsPem), intermediates: [] },
        nowMs: () => pki.nowMs,
        ...options,
      });
    fixture.delivery = (options = {}) => {
      const signer = options.signer ?? Signer.Microsoft;
      const body = options.body ?? eventBody({ changedAt: new Date(pki.nowMs).toISOString() });
      return {
        body,
        headers: deliveryHeaders({
          signature: signBody(body, pki.signers[signer].keyPem),
          certificateUrl: server.urlOf(signer, options.format ?? 'der'),
          style: options.style,
        }),
      };
    };
  }, 30_000);
  afterAll(async () => fixture.server?.stop());
  return fixture;
}
