/**
 * Hostile Partner Center deliveries for bench/eventsFuzz.ts: seeded fast-check descriptions of one
 * delivery each (a genuine one, or one with a single fault injected), turned into headers and body bytes
 * with the fixture PKI. Every case carries the outcome the receiver must reach, known by construction.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { RefusalReason, SYNC_EVENT_NAMES } from '../../shared/events/constants';
import {
  HostileFile,
  Signer,
  deliveryHeaders,
  eventBody,
  signBody,
  type CertificateServer,
  type EventPki,
} from './eventPki';

/** What the receiver must answer. */
export type ExpectedOutcome =
  { kind: 'enqueued' } | { kind: 'ignored' } | { kind: 'invalid' } | { kind: 'refused'; reason: RefusalReason };

/** The fault families of the "Done when" list, plus the genuine deliveries. */
export const FuzzFamily = {
  Genuine: 'genuine',
  ForgedSignature: 'forged-signature',
  AlteredBody: 'altered-body',
  WrongAlgorithm: 'wrong-algorithm',
  CertificateOtherHost: 'certificate-other-host',
  CertificateOtherCa: 'certificate-other-ca',
  CertificateBadDates: 'certificate-bad-dates',
  CertificateHostileServer: 'certificate-hostile-server',
  MissingHeaders: 'missing-headers',
  OversizedBody: 'oversized-body',
  ReplayOldEvent: 'replay-old-event',
  SignedNonEvent: 'signed-non-event',
} as const;
export type FuzzFamily = (typeof FuzzFamily)[keyof typeof FuzzFamily];

/** One generated delivery. */
export interface EventsFuzzCase {
  index: number;
  family: FuzzFamily;
  /** The variant inside the family (for the figures). */
  variant: string;
  headers: Headers;
  body: Buffer;
  expected: ExpectedOutcome;
}

/** What the builder needs: the PKI, its server, the receiver's limits and clock. */
export interface CaseContext {
  pki: EventPki;
  server: CertificateServer;
  maxBodyBytes: number;
  maxAgeMs: number;
}

const HOUR_MS = 3_600_000;
const hexId = fc
  .array(fc.integer({ min: 0, max: 15 }), { minLength: 32, maxLength: 32 })
  .map((d) => d.map((n) => n.toString(16)).join(''))
  .map((h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);

/** A genuine delivery's free parameters. */
const genuineParams = fc.record({
  eventName: fc.constantFrom(...SYNC_EVENT_NAMES),
  referralId: hexId,
  ageMs: fc.integer({ min: 0, max: 20 * HOUR_MS }),
  style: fc.constantFrom('authorization' as const, 'x-ms-signature' as const, 'x-ms-signature-prefixed' as const),
  signer: fc.constantFrom(Signer.Microsoft, Signer.ViaIntermediate),
  format: fc.constantFrom('der' as const, 'pem' as const),
  auditKey: fc.constantFrom('AuditUri' as const, 'AuditUrl' as const),
  urlTag: fc.integer({ min: 0, max: 4 }),
});
type GenuineParams = typeof genuineParams extends fc.Arbitrary<infer T> ? T : never;

/** One case description: a family, a variant, the genuine parameters it starts from, and a fault seed. */
const caseArbitrary = fc.record({
  // Genuine deliveries weigh three times as much as each fault family, so acceptance is exercised too.
  family: fc.constantFrom(FuzzFamily.Genuine, FuzzFamily.Genuine, ...Object.values(FuzzFamily)),
  params: genuineParams,
  pick: fc.nat({ max: 1_000_000 }),
  bytes: fc.uint8Array({ minLength: 256, maxLength: 256 }),
});

/** The same seed gives the same cases. */
export function generateEventsFuzzCases(count: number, seed: number, context: CaseContext): EventsFuzzCase[] {
  const otherKeyPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  return fc
    .sample(caseArbitrary, { seed, numRuns: count })
    .map((description, index) => buildCase(index, description, context, otherKeyPem));
}

function buildCase(
  index: number,
  description: { family: FuzzFamily; params: GenuineParams; pick: number; bytes: Uint8Array },
  context: CaseContext,
  otherKeyPem: string,
): EventsFuzzCase {
  const { family, pick, bytes } = description;
  const params = { ...description.params };
  // A PEM chain is how the intermediate travels; a DER file carries only the leaf.
  if (params.signer === Signer.ViaIntermediate) params.format = 'pem';
  const { pki, server } = context;
  const choose = <T>(options: readonly T[]): T => options[pick % options.length];
  const changedAt = (ageMs: number) => new Date(pki.nowMs - ageMs).toISOString();
  const body = eventBody({
    eventName: params.eventName,
    referralId: params.referralId,
    changedAt: changedAt(params.ageMs),
    auditKey: params.auditKey,
  });
  const signed = (
    payload: Buffer,
    overrides: { signer?: Signer; url?: string; algorithm?: string; signature?: string } = {},
  ) => {
    const signer = overrides.signer ?? params.signer;
    return deliveryHeaders({
      signature: overrides.signature ?? signBody(payload, pki.signers[signer].keyPem),
      certificateUrl: overrides.url ?? server.urlOf(signer, params.format, String(params.urlTag)),
      style: params.style,
      algorithm: overrides.algorithm,
    });
  };
  const make = (variant: string, headers: Headers, payload: Buffer, expected: ExpectedOutcome): EventsFuzzCase => ({
    index,
    family,
    variant,
    headers,
    body: payload,
    expected,
  });
  const refused = (reason: RefusalReason): ExpectedOutcome => ({ kind: 'refused', reason });

  switch (family) {
    case FuzzFamily.Genuine: {
      const variant = choose(['sync', 'sync', 'sync', 'test-created', 'unknown-name']);
      if (variant === 'sync') return make(variant, signed(body), body, { kind: 'enqueued' });
      const other = eventBody({ eventName: variant === 'test-created' ? 'test-created' : 'referral-archived' });
      return make(variant, signed(other), other, { kind: 'ignored' });
    }
    case FuzzFamily.ForgedSignature: {
      const variant = choose(['random-bytes', 'other-key', 'other-body', 'not-base64', 'truncated'] as const);
      const genuine = signBody(body, pki.signers[params.signer].keyPem);
      const signature = {
        'random-bytes': Buffer.from(bytes).toString('base64'),
        'other-key': signBody(body, otherKeyPem),
        'other-body': signBody(Buffer.concat([body, Buffer.from(' ')]), pki.signers[params.signer].keyPem),
        'not-base64': `${genuine.slice(0, 20)}*${genuine.slice(21)}`,
        truncated: genuine.slice(0, genuine.length - 4),
      }[variant];
      const reason = variant === 'not-base64' ? RefusalReason.SignatureMalformed : RefusalReason.SignatureInvalid;
      const headers = signed(body, { signature });
      if (pick % 7 === 0) {
        // The genuine signature in one header and the forged one in the other: ambiguous, refused.
        headers.set('authorization', `Signature ${genuine}`);
        headers.set('x-ms-signature', signature);
        return make(`${variant}+both-headers`, headers, body, refused(RefusalReason.SignatureAmbiguous));
      }
      return make(variant, headers, body, refused(reason));
    }
    case FuzzFamily.AlteredBody: {
      const variant = choose(['byte-flip', 'append', 'truncate', 'reformat', 'other-referral'] as const);
      const position = pick % body.length;
      const altered = {
        'byte-flip': () => {
          const copy = Buffer.from(body);
          copy[position] = (copy[position] + 1 + (bytes[0] % 255)) % 256;
          return copy;
        },
        append: () => Buffer.concat([body, Buffer.from([bytes[1]])]),
        truncate: () => body.subarray(0, Math.max(0, position)),
        reformat: () => Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8')), null, 2)),
        'other-referral': () =>
          Buffer.from(body.toString('utf8').replace(params.referralId, `f${params.referralId.slice(1)}`)),
      }[variant]();
      // An "other-referral" change of an id that already starts with f leaves the body unchanged: still genuine.
      const unchanged = altered.equals(body);
      return make(
        variant,
        signed(body),
        altered,
        unchanged ? { kind: 'enqueued' } : refused(RefusalReason.SignatureInvalid),
      );
    }
    case FuzzFamily.WrongAlgorithm: {
      const algorithm = choose([
        'rsa-sha1',
        'rsa-sha512',
        'RSA-SHA384',
        'hmac-sha256',
        'none',
        'rsa-sha256;rsa-sha1',
        'ecdsa-sha256',
        '',
      ]);
      return make(
        algorithm || 'empty',
        signed(body, { algorithm }),
        body,
        refused(algorithm ? RefusalReason.AlgorithmUnsupported : RefusalReason.AlgorithmMissing),
      );
    }
    case FuzzFamily.CertificateOtherHost: {
      const file = `/cert/${params.signer}.${params.format === 'der' ? 'cer' : 'pem'}`;
      const urls: Record<string, string> = {
        localhost: `https://localhost:${server.host.split(':')[1]}${file}`,
        http: `http://${server.host}${file}`,
        'other-port': `https://127.0.0.1:1${file}`,
        'other-folder': `${server.origin}/certs${file}`,
        'sub-folder': `${server.origin}/cert/x${file.slice(5)}`,
        query: `${server.origin}${file}?sig=1`,
        'user-info': `https://a@${server.host}${file}`,
        'dot-segments': `${server.origin}/cert/../cert${file.slice(5)}`,
        'documented-host':
          'https://3psostorageacct.blob.core.windows.net/cert/pcnotifications-dispatch.microsoft.com.cer',
        'evil-host': `https://evil.example${file}`,
      };
      const variant = choose(Object.keys(urls));
      return make(variant, signed(body, { url: urls[variant] }), body, refused(RefusalReason.CertificateUrlNotAllowed));
    }
    case FuzzFamily.CertificateOtherCa: {
      const variant = choose([Signer.OtherCa, Signer.OtherOrganisation, Signer.EcKey]);
      const reason = {
        [Signer.OtherCa]: RefusalReason.CertificateUntrusted,
        [Signer.OtherOrganisation]: RefusalReason.CertificateIssuerNotMicrosoft,
        [Signer.EcKey]: RefusalReason.CertificateKeyUnsupported,
      }[variant];
      const url = server.urlOf(variant, 'der', String(params.urlTag));
      return make(variant, signed(body, { signer: variant, url }), body, refused(reason));
    }
    case FuzzFamily.CertificateBadDates: {
      const variant = choose([Signer.Expired, Signer.NotYetValid]);
      const url = server.urlOf(variant, 'der', String(params.urlTag));
      const reason =
        variant === Signer.Expired ? RefusalReason.CertificateExpired : RefusalReason.CertificateNotYetValid;
      return make(variant, signed(body, { signer: variant, url }), body, refused(reason));
    }
    case FuzzFamily.CertificateHostileServer: {
      const variant = choose([
        HostileFile.Redirect,
        HostileFile.TooLarge,
        HostileFile.TooLargeDeclared,
        HostileFile.Missing,
        HostileFile.Garbage,
        HostileFile.NeverEnds,
      ]);
      const reason =
        variant === HostileFile.Garbage ? RefusalReason.CertificateMalformed : RefusalReason.CertificateFetchFailed;
      return make(variant, signed(body, { url: `${server.origin}/cert/${variant}` }), body, refused(reason));
    }
    case FuzzFamily.MissingHeaders: {
      const variant = choose(['signature', 'algorithm', 'certificate-url', 'all'] as const);
      const headers = signed(body);
      const drop = {
        signature: [['authorization', 'x-ms-signature'], RefusalReason.SignatureMissing],
        algorithm: [['x-ms-signature-algorithm'], RefusalReason.AlgorithmMissing],
        'certificate-url': [['x-ms-certificate-url'], RefusalReason.CertificateUrlMissing],
        all: [
          ['authorization', 'x-ms-signature', 'x-ms-signature-algorithm', 'x-ms-certificate-url'],
          RefusalReason.SignatureMissing,
        ],
      } as const;
      const [names, reason] = drop[variant];
      for (const name of names) headers.delete(name);
      return make(variant, headers, body, refused(reason));
    }
    case FuzzFamily.OversizedBody: {
      const variant = choose(['padded-json', 'declared-length']);
      const oversized = Buffer.from(
        JSON.stringify({
          ...JSON.parse(body.toString('utf8')),
          Padding: 'x'.repeat(context.maxBodyBytes + (pick % 4096)),
        }),
      );
      if (variant === 'padded-json')
        return make(variant, signed(oversized), oversized, refused(RefusalReason.BodyTooLarge));
      const headers = signed(oversized);
      headers.set('content-length', String(oversized.length));
      return make(variant, headers, Buffer.alloc(0), refused(RefusalReason.BodyTooLarge));
    }
    case FuzzFamily.ReplayOldEvent: {
      const ageMs = context.maxAgeMs + 1 + (pick % (30 * 24)) * HOUR_MS;
      const old = eventBody({
        eventName: params.eventName,
        referralId: params.referralId,
        changedAt: changedAt(ageMs),
      });
      return make('older-than-window', signed(old), old, refused(RefusalReason.EventTooOld));
    }
    case FuzzFamily.SignedNonEvent: {
      const variant = choose(['not-json', 'array', 'no-resource-uri', 'bad-date', 'bad-path'] as const);
      const text = {
        'not-json': Buffer.from(bytes).toString('latin1'),
        array: '[]',
        'no-resource-uri': JSON.stringify({ EventName: params.eventName, ResourceChangeUtcDate: changedAt(0) }),
        'bad-date': body
          .toString('utf8')
          .replace(/"ResourceChangeUtcDate":"[^"]+"/, '"ResourceChangeUtcDate":"yesterday"'),
        'bad-path': body.toString('utf8').replace('/referrals/', '/notes/'),
      }[variant];
      const payload = Buffer.from(text, variant === 'not-json' ? 'latin1' : 'utf8');
      return make(variant, signed(payload), payload, { kind: 'invalid' });
    }
  }
}
