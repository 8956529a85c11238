/**
 * TLS material for the HTTPS stand-ins (Entra token endpoint, Key Vault): a throw-away CA and a server
 * certificate it signs for `127.0.0.1`, `::1` and `localhost`. Both stand-ins share one CA, so a client
 * trusts them all by trusting the CA: the app process through `NODE_EXTRA_CA_CERTS=<caPath>` (read
 * only at process start), an in-process client through its own options (see docs/sandbox.md).
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';

/** PEM material of the sandbox CA and the server certificate it signed. */
export interface SandboxTls {
  /** The CA certificate clients trust. */
  caPem: string;
  /** The server certificate (127.0.0.1, ::1, localhost), signed by the CA. */
  certPem: string;
  /** The server certificate's private key. */
  keyPem: string;
  /**
   * The CA's private key: lets a stand-in issue more certificates of the same CA (the Partner Center
   * simulator's webhook signing certificate, {@link issueSigningCertificate}). Never leaves the process.
   */
  caKeyPem: string;
  /** Where the CA PEM was written, when a path was given. */
  caPath?: string;
}

/** Lifetime of the generated certificates. */
const VALIDITY_DAYS = 30;

/** Subject of the sandbox CA (also the issuer of every certificate it signs). */
export const CA_SUBJECT = [
  { name: 'commonName', value: 'Co-sell bridge sandbox CA' },
  { name: 'organizationName', value: 'Microsoft Corporation' },
  { shortName: 'OU', value: 'Co-sell bridge sandbox (not Microsoft)' },
];

/**
 * Generates a CA and a server certificate for loopback; writes the CA PEM to `caPath` when given
 * (creating its folder), for `NODE_EXTRA_CA_CERTS`.
 */
export async function createSandboxTls(options: { caPath?: string } = {}): Promise<SandboxTls> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + VALIDITY_DAYS * 86_400_000);
  // The organization is Microsoft Corporation because webhook verifiers check the issuer organization of
  // the signing certificate (../shared/reference/partner-center-lifecycle.md); the unit says what it is.
  const ca = await generate(CA_SUBJECT, {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  const tls: SandboxTls = { caPem: ca.cert, certPem: server.cert, keyPem: server.private, caKeyPem: ca.private };
  if (options.caPath) {
    mkdirSync(path.dirname(options.caPath), { recursive: true });
    writeFileSync(options.caPath, ca.cert);
    tls.caPath = options.caPath;
  }
  return tls;
}

/** A signing certificate issued by the sandbox CA, and its key. */
export interface SigningCertificate {
  certPem: string;
  /** The certificate as DER (served as `.cer`). */
  certDer: Buffer;
  keyPem: string;
}

/**
 * Issues a signing (not TLS) certificate of the sandbox CA: subject `CN=<commonName>, O=<organization>`,
 * key usage digitalSignature. The Partner Center simulator signs its webhook deliveries with one
 * (`CN=pcnotifications-dispatch.microsoft.com, O=Microsoft Corporation`, as Partner Center's is named).
 */
export async function issueSigningCertificate(
  tls: Pick<SandboxTls, 'caPem' | 'caKeyPem'>,
  options: { commonName: string; organization: string },
): Promise<SigningCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + VALIDITY_DAYS * 86_400_000);
  const issued = await generate(
    [
      { name: 'commonName', value: options.commonName },
      { name: 'organizationName', value: options.organization },
    ],
    {
      keySize: 2048,
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      ca: { key: tls.caKeyPem, cert: tls.caPem },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, critical: true },
      ],
    },
  );
  return { certPem: issued.cert, certDer: new X509Certificate(issued.cert).raw, keyPem: issued.private };
}
