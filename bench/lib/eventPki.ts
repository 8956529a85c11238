/**
 * Certificates and signed deliveries for the event receiver's tests and fuzz run (bench/eventsFuzz.ts):
 * a Microsoft-like root (O=Microsoft Corporation) with an intermediate, the leaves a verifier must accept
 * or refuse, and an https server that serves them the way a blob store would (plus the hostile variants:
 * a redirect, an oversized file, one that never finishes, garbage, a 404).
 */
import { X509Certificate, sign } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { createSandboxTls } from '../../sandbox/tls';

/** The signing certificates of the fixture PKI. */
export const Signer = {
  /** Issued by the trusted root, O=Microsoft Corporation, valid now: accepted. */
  Microsoft: 'microsoft',
  /** Issued by an intermediate of the trusted root, served as a PEM chain: accepted. */
  ViaIntermediate: 'via-intermediate',
  /** Issued by the trusted root, expired yesterday. */
  Expired: 'expired',
  /** Issued by the trusted root, valid from tomorrow. */
  NotYetValid: 'not-yet-valid',
  /** Issued by another CA that also calls itself Microsoft Corporation, not trusted. */
  OtherCa: 'other-ca',
  /** Issued by a trusted root of another organisation (O=Contoso Ltd). */
  OtherOrganisation: 'other-organisation',
  /** An EC key under the trusted root (the algorithm is RSA only). */
  EcKey: 'ec-key',
} as const;
export type Signer = (typeof Signer)[keyof typeof Signer];

/** One signing certificate with its key. */
export interface SigningCertificate {
  certPem: string;
  keyPem: string;
  /** What the certificate URL serves as PEM: the leaf and its intermediates. */
  chainPem: string;
  der: Buffer;
}

/** The fixture PKI. */
export interface EventPki {
  /** The instant the certificates were made around: pass it as the verifier's clock. */
  nowMs: number;
  /** PEM bundle of the trusted roots (Microsoft-like RSA and ECC, and Contoso). */
  trustedRootsPem: string;
  trustedRoots: X509Certificate[];
  signers: Record<Signer, SigningCertificate>;
  /** TLS of the certificate server. */
  tls: { caPem: string; certPem: string; keyPem: string };
}

const DAY_MS = 86_400_000;

/** Makes the fixture PKI (about a second: ten RSA keys). */
export async function createEventPki(nowMs = Date.now()): Promise<EventPki> {
  const at = (days: number) => new Date(nowMs + days * DAY_MS);
  const ca = (
    commonName: string,
    organisation: string,
    issuer?: { key: string; cert: string },
    keyType: 'rsa' | 'ec' = 'rsa',
  ) =>
    generate(
      [
        { name: 'commonName', value: commonName },
        { name: 'organizationName', value: organisation },
      ],
      {
        keyType,
        keySize: 2048,
        algorithm: 'sha256',
        notBeforeDate: at(-365),
        notAfterDate: at(3650),
        ...(issuer ? { ca: issuer } : {}),
        extensions: [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
        ],
      },
    );
  const leaf = (
    issuer: { key: string; cert: string },
    options: { from?: number; to?: number; keyType?: 'rsa' | 'ec' } = {},
  ) =>
    generate(
      [
        { name: 'commonName', value: 'pcnotifications-dispatch.microsoft.com' },
        { name: 'organizationName', value: 'Microsoft Corporation' },
      ],
      {
        keyType: options.keyType ?? 'rsa',
        keySize: 2048,
        algorithm: 'sha256',
        notBeforeDate: at(options.from ?? -30),
        notAfterDate: at(options.to ?? 335),
        ca: issuer,
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, critical: true },
        ],
      },
    );
  const root = await ca('Fixture Microsoft Root', 'Microsoft Corporation');
  const rootIssuer = { key: root.private, cert: root.cert };
  const intermediate = await ca('Fixture Microsoft Issuing CA', 'Microsoft Corporation', rootIssuer);
  const impostor = await ca('Impostor Root', 'Microsoft Corporation');
  const contoso = await ca('Contoso Root', 'Contoso Ltd');
  // selfsigned signs with a key of the leaf's type: the EC leaf needs an EC root (trusted too).
  const ecRoot = await ca('Fixture Microsoft ECC Root', 'Microsoft Corporation', undefined, 'ec');
  const made = {
    [Signer.Microsoft]: await leaf(rootIssuer),
    [Signer.ViaIntermediate]: await leaf({ key: intermediate.private, cert: intermediate.cert }),
    [Signer.Expired]: await leaf(rootIssuer, { from: -400, to: -1 }),
    [Signer.NotYetValid]: await leaf(rootIssuer, { from: 1, to: 400 }),
    [Signer.OtherCa]: await leaf({ key: impostor.private, cert: impostor.cert }),
    [Signer.OtherOrganisation]: await leaf({ key: contoso.private, cert: contoso.cert }),
    [Signer.EcKey]: await leaf({ key: ecRoot.private, cert: ecRoot.cert }, { keyType: 'ec' }),
  };
  const signers = Object.fromEntries(
    Object.entries(made).map(([name, generated]) => [
      name,
      {
        certPem: generated.cert,
        keyPem: generated.private,
        chainPem: name === Signer.ViaIntermediate ? `${generated.cert}\n${intermediate.cert}` : generated.cert,
        der: Buffer.from(new X509Certificate(generated.cert).raw),
      },
    ]),
  ) as Record<Signer, SigningCertificate>;
  const tls = await createSandboxTls();
  const trustedRootsPem = `${root.cert}\n${contoso.cert}\n${ecRoot.cert}`;
  return {
    nowMs,
    trustedRootsPem,
    trustedRoots: [root.cert, contoso.cert, ecRoot.cert].map((pem) => new X509Certificate(pem)),
    signers,
    tls: { caPem: tls.caPem, certPem: tls.certPem, keyPem: tls.keyPem },
  };
}

/** Special files of the certificate server (under /cert/). */
export const HostileFile = {
  Redirect: 'redirect.cer',
  TooLarge: 'too-large.cer',
  TooLargeDeclared: 'too-large-declared.cer',
  NeverEnds: 'never-ends.cer',
  Garbage: 'garbage.cer',
  Missing: 'missing.cer',
} as const;

/** A running certificate server. */
export interface CertificateServer {
  /** `https://127.0.0.1:<port>` */
  origin: string;
  /** `127.0.0.1:<port>` */
  host: string;
  /** Paths requested, in order. */
  requests: string[];
  /** URL of a signer's certificate: DER at `<signer>[-<tag>].cer`, PEM chain at `<signer>[-<tag>].pem`. */
  urlOf(signer: Signer, format?: 'der' | 'pem', tag?: string): string;
  stop(): Promise<void>;
}

/** Serves the PKI's certificates over https on a free loopback port. */
export async function startCertificateServer(pki: EventPki): Promise<CertificateServer> {
  const requests: string[] = [];
  const server: Server = createServer({ key: pki.tls.keyPem, cert: pki.tls.certPem }, (req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    const file = path.startsWith('/cert/') ? path.slice('/cert/'.length) : '';
    if (file === HostileFile.Redirect) {
      res.writeHead(302, { location: `/cert/${Signer.Microsoft}.cer` }).end();
    } else if (file === HostileFile.TooLarge) {
      res.writeHead(200, { 'content-type': 'application/pkix-cert' });
      res.end(Buffer.alloc(256 * 1024, 0x30));
    } else if (file === HostileFile.TooLargeDeclared) {
      res.writeHead(200, { 'content-length': String(256 * 1024) });
      res.end(Buffer.alloc(256 * 1024, 0x30));
    } else if (file === HostileFile.NeverEnds) {
      res.writeHead(200, { 'content-type': 'application/pkix-cert' });
      res.write(pki.signers.microsoft.der.subarray(0, 10));
    } else if (file === HostileFile.Garbage) {
      res.writeHead(200).end(Buffer.from('this is not a certificate'));
    } else {
      const match = /^([a-z-]+?)(?:-t[0-9]+)?\.(cer|pem)$/.exec(file);
      const signer = match ? pki.signers[match[1] as Signer] : undefined;
      if (!match || !signer) {
        res.writeHead(404).end();
      } else if (match[2] === 'pem') {
        res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(signer.chainPem);
      } else {
        res.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(signer.der);
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `https://127.0.0.1:${port}`;
  return {
    origin,
    host: `127.0.0.1:${port}`,
    requests,
    urlOf: (signer, format = 'der', tag) =>
      `${origin}/cert/${signer}${tag ? `-t${tag}` : ''}.${format === 'der' ? 'cer' : 'pem'}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An event body as Partner Center sends it (PascalCase, flat). */
export function eventBody(fields: {
  eventName?: string;
  referralId?: string;
  changedAt?: string;
  auditKey?: 'AuditUri' | 'AuditUrl';
  resourceUri?: string;
}): Buffer {
  const referralId = fields.referralId ?? 'c2a5a8e8-aa8b-4f64-8a06-55fde09f0ea4';
  return Buffer.from(
    JSON.stringify({
      EventName: fields.eventName ?? 'referral-updated',
      ResourceUri:
        fields.resourceUri ?? `https://api.partnercenter.microsoft.com/engagements/v1/referrals/${referralId}`,
      ResourceName: 'referral',
      [fields.auditKey ?? 'AuditUri']: null,
      ResourceChangeUtcDate: fields.changedAt ?? new Date().toISOString(),
    }),
    'utf8',
  );
}

/** Signs `body` with `keyPem` (RSA-SHA256, PKCS#1 v1.5, as Partner Center does), base64. */
export function signBody(body: Uint8Array, keyPem: string): string {
  return sign('sha256', body, keyPem).toString('base64');
}

/** The headers of a signed delivery: `Authorization: Signature <b64>` (default) or `x-ms-signature`. */
export function deliveryHeaders(options: {
  signature: string;
  certificateUrl: string;
  style?: 'authorization' | 'x-ms-signature' | 'x-ms-signature-prefixed';
  algorithm?: string;
  contentLength?: number;
}): Headers {
  const headers = new Headers({ 'content-type': 'application/json' });
  const style = options.style ?? 'authorization';
  if (style === 'authorization') headers.set('authorization', `Signature ${options.signature}`);
  else headers.set('x-ms-signature', style === 'x-ms-signature' ? options.signature : `Signature ${options.signature}`);
  headers.set('x-ms-signature-algorithm', options.algorithm ?? 'rsa-sha256');
  headers.set('x-ms-certificate-url', options.certificateUrl);
  if (options.contentLength !== undefined) headers.set('content-length', String(options.contentLength));
  return headers;
}
