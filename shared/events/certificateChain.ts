/**
 * Does a signing certificate belong to Microsoft? Validity dates against an injected clock, a chain to
 * the configured roots (through configured or delivered intermediates), and the issuer's organisation.
 *
 * Default roots: the certificates of Node's bundled root store (`tls.rootCertificates`) whose subject
 * organisation is "Microsoft Corporation" (today the Microsoft RSA and ECC Root Certificate Authority
 * 2017). EVENTS_TRUSTED_ROOTS_PATH replaces them with a PEM bundle (the sandbox CA). Which chain the real
 * signing certificate has is not published [I]: when its issuing CA is not in the delivered file, list it
 * in EVENTS_CERT_INTERMEDIATES_PATH. Intermediates are never fetched from the certificate's AIA URLs.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { MAX_CHAIN_DEPTH, MICROSOFT_ROOT_ORGANISATION, REQUIRED_ISSUER_ORGANISATION, RefusalReason } from './constants';

/** The certificates a signing certificate may chain through and to. */
export interface TrustAnchors {
  /** Trusted roots (self-signed or not: a chain ends at the first certificate found here). */
  roots: readonly X509Certificate[];
  /** Configured intermediates, tried besides the ones delivered with the leaf. */
  intermediates: readonly X509Certificate[];
}

/** The verdict on a certificate chain. */
export type ChainVerdict =
  | { ok: true; chain: X509Certificate[] }
  | {
      ok: false;
      reason:
        | typeof RefusalReason.CertificateNotYetValid
        | typeof RefusalReason.CertificateExpired
        | typeof RefusalReason.CertificateUntrusted
        | typeof RefusalReason.CertificateIssuerNotMicrosoft
        | typeof RefusalReason.CertificateKeyUnsupported;
    };

/** Every certificate of a PEM text, in order (text outside the armour is ignored). */
export function certificatesFromPem(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/** The roots of Node's bundled store whose subject organisation is `organisation`. */
export function bundledRootsOf(organisation: string = MICROSOFT_ROOT_ORGANISATION): X509Certificate[] {
  return rootCertificates
    .map((pem) => new X509Certificate(pem))
    .filter((certificate) => organisationsOf(certificate.subject).includes(organisation));
}

/**
 * The trust anchors from settings: roots from `rootsPemPath` (else the bundled Microsoft roots) and
 * intermediates from `intermediatesPemPath`. Throws when a file cannot be read or holds no certificate.
 */
export function loadTrustAnchors(options: { rootsPemPath?: string; intermediatesPemPath?: string } = {}): TrustAnchors {
  const read = (path: string, what: string): X509Certificate[] => {
    const certificates = certificatesFromPem(readFileSync(path, 'utf8'));
    if (certificates.length === 0) throw new Error(`${what} (${path}) holds no PEM certificate`);
    return certificates;
  };
  const roots = options.rootsPemPath ? read(options.rootsPemPath, 'EVENTS_TRUSTED_ROOTS_PATH') : bundledRootsOf();
  if (roots.length === 0)
    throw new Error('No trusted root: Node bundles no Microsoft root; set EVENTS_TRUSTED_ROOTS_PATH');
  const intermediates = options.intermediatesPemPath
    ? read(options.intermediatesPemPath, 'EVENTS_CERT_INTERMEDIATES_PATH')
    : [];
  return { roots, intermediates };
}

/**
 * Checks `leaf` (with the intermediates delivered beside it) at `nowMs`: an RSA key, not a CA, every
 * certificate of the chain within its dates, each signed by the next, ending at a trusted root, and the
 * leaf's issuer naming the organisation "Microsoft Corporation". Pure apart from the certificates.
 */
export function verifyCertificateChain(
  leaf: X509Certificate,
  delivered: readonly X509Certificate[],
  anchors: TrustAnchors,
  nowMs: number,
): ChainVerdict {
  if (leaf.publicKey.asymmetricKeyType !== 'rsa' || leaf.ca) {
    return { ok: false, reason: RefusalReason.CertificateKeyUnsupported };
  }
  const dates = datesVerdict(leaf, nowMs);
  if (dates) return { ok: false, reason: dates };
  if (!organisationsOf(leaf.issuer).includes(REQUIRED_ISSUER_ORGANISATION)) {
    return { ok: false, reason: RefusalReason.CertificateIssuerNotMicrosoft };
  }
  const candidates = [...delivered, ...anchors.intermediates].filter((certificate) => certificate.ca);
  const chain = [leaf];
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    const root = anchors.roots.find((candidate) => issuedBy(current, candidate) && !datesVerdict(candidate, nowMs));
    if (root) return { ok: true, chain: root.fingerprint256 === current.fingerprint256 ? chain : [...chain, root] };
    const next = candidates.find(
      (candidate) =>
        !chain.some((seen) => seen.fingerprint256 === candidate.fingerprint256) &&
        issuedBy(current, candidate) &&
        !datesVerdict(candidate, nowMs),
    );
    if (!next) break;
    chain.push(next);
    current = next;
  }
  return { ok: false, reason: RefusalReason.CertificateUntrusted };
}

/** True when `issuer` names `certificate`'s issuer and its key verifies `certificate`'s signature. */
function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return issuer.ca && certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function datesVerdict(
  certificate: X509Certificate,
  nowMs: number,
): typeof RefusalReason.CertificateNotYetValid | typeof RefusalReason.CertificateExpired | undefined {
  if (nowMs < certificate.validFromDate.getTime()) return RefusalReason.CertificateNotYetValid;
  if (nowMs > certificate.validToDate.getTime()) return RefusalReason.CertificateExpired;
  return undefined;
}

/**
 * The `O=` values of a distinguished name as node:crypto prints it (one `KEY=value` per line; values
 * with special characters come JSON-quoted, so a quoted value never equals a plain organisation name).
 */
export function organisationsOf(distinguishedName: string): string[] {
  return distinguishedName
    .split('\n')
    .filter((line) => line.startsWith('O='))
    .map((line) => line.slice(2));
}
