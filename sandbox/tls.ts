/**
 * TLS material for the HTTPS stand-ins (Entra token endpoint, Key Vault): a throw-away CA and a server
 * certificate it signs for `127.0.0.1`, `::1` and `localhost`. Both stand-ins share one CA, so a client
 * trusts them all by trusting the CA: the app process through `NODE_EXTRA_CA_CERTS=<caPath>` (read
 * only at process start), an in-process client through its own options (see docs/sandbox.md).
 */
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
  /** Where the CA PEM was written, when a path was given. */
  caPath?: string;
}

/** Lifetime of the generated certificates. */
const VALIDITY_DAYS = 30;

/**
 * Generates a CA and a server certificate for loopback; writes the CA PEM to `caPath` when given
 * (creating its folder), for `NODE_EXTRA_CA_CERTS`.
 */
export async function createSandboxTls(options: { caPath?: string } = {}): Promise<SandboxTls> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + VALIDITY_DAYS * 86_400_000);
  const ca = await generate([{ name: 'commonName', value: 'Co-sell bridge sandbox CA' }], {
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
  const tls: SandboxTls = { caPem: ca.cert, certPem: server.cert, keyPem: server.private };
  if (options.caPath) {
    mkdirSync(path.dirname(options.caPath), { recursive: true });
    writeFileSync(options.caPath, ca.cert);
    tls.caPath = options.caPath;
  }
  return tls;
}
