/**
 * A small node:http webhook receiver for the simulator's event suites: records every request (headers
 * and raw body bytes) and answers with a status the test chooses per request.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate, verify } from 'node:crypto';
import https from 'node:https';

/** One request the receiver got. */
export interface ReceivedEvent {
  headers: IncomingHttpHeaders;
  raw: Buffer;
  /** The body parsed (the simulator's events are JSON). */
  body: Record<string, unknown>;
}

/** A running receiver. */
export interface EventReceiver {
  /** `http://127.0.0.1:<port>/api/partner-center/events` */
  url: string;
  received: ReceivedEvent[];
  /** The status of the n-th request (0-based). @default 200 for every request */
  answer: (index: number) => number;
  close(): Promise<void>;
}

/** Starts a receiver on a free loopback port. */
export async function startEventReceiver(): Promise<EventReceiver> {
  const receiver: Partial<EventReceiver> & { received: ReceivedEvent[]; answer: (index: number) => number } = {
    received: [],
    answer: () => 200,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const index = receiver.received.length;
      receiver.received.push({
        headers: req.headers,
        raw,
        body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
      });
      res.writeHead(receiver.answer(index));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  receiver.url = `http://127.0.0.1:${port}/api/partner-center/events`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver as EventReceiver;
}

/** Downloads the certificate named by `X-MS-Certificate-Url` (https, trusting only `caPem`). */
export function downloadCertificate(url: string, caPem: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: caPem, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`certificate download answered ${res.statusCode}`));
        resolve(new X509Certificate(Buffer.concat(chunks)));
      });
    });
    req.on('error', reject);
  });
}

/** The signature of a received event, from `Authorization` or `x-ms-signature` (with or without `Signature `). */
export function signatureOf(event: ReceivedEvent): Buffer {
  const value = event.headers['x-ms-signature'] ?? event.headers.authorization ?? '';
  const text = Array.isArray(value) ? value[0] : value;
  return Buffer.from(text.replace(/^Signature\s+/, ''), 'base64');
}

/**
 * Verifies a received event as a strict receiver would: the certificate is issued by the CA (signature
 * and issuer name), its issuer and subject organization is Microsoft Corporation, and the RSA-SHA256
 * signature covers the raw body bytes.
 */
export async function verifyReceivedEvent(event: ReceivedEvent, caPem: string): Promise<boolean> {
  const certificate = await downloadCertificate(String(event.headers['x-ms-certificate-url']), caPem);
  const ca = new X509Certificate(caPem);
  if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) return false;
  if (!/^O=Microsoft Corporation$/m.test(certificate.issuer)) return false;
  if (!/^O=Microsoft Corporation$/m.test(certificate.subject)) return false;
  return verify('sha256', event.raw, certificate.publicKey, signatureOf(event));
}
