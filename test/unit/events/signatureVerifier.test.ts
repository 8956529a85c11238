import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import { eventBody, HostileFile, signBody, Signer } from '../../../bench/lib/eventPki';
import { RefusalReason } from '../../../shared/events/constants';
import { useEventFixture } from './helpers';

const fixture = useEventFixture();

describe('SignatureVerifier: deliveries it accepts', () => {
  it.each([
    { style: 'authorization' as const, format: 'der' as const },
    { style: 'x-ms-signature' as const, format: 'der' as const },
    { style: 'x-ms-signature-prefixed' as const, format: 'pem' as const },
  ])('accepts a body signed by the Microsoft certificate ($style header, $format certificate)', async (options) => {
    const { headers, body } = fixture.delivery(options);
    const verdict = await fixture.verifier().verify(headers, body);
    expect(verdict).toMatchObject({ ok: true, certificateUrl: fixture.server.urlOf(Signer.Microsoft, options.format) });
  });

  it('accepts a certificate delivered as a PEM chain through an intermediate', async () => {
    const { headers, body } = fixture.delivery({ signer: Signer.ViaIntermediate, format: 'pem' });
    expect((await fixture.verifier().verify(headers, body)).ok).toBe(true);
  });

  it('accepts the intermediate from settings when only the leaf is delivered', async () => {
    const { headers, body } = fixture.delivery({ signer: Signer.ViaIntermediate, format: 'der' });
    expect(await fixture.verifier().verify(headers, body)).toMatchObject({
      ok: false,
      reason: RefusalReason.CertificateUntrusted,
    });
    const { certificatesFromPem } = await import('../../../shared/events/certificateChain');
    const [, intermediate] = certificatesFromPem(fixture.pki.signers[Signer.ViaIntermediate].chainPem);
    const roots = certificatesFromPem(fixture.pki.trustedRootsPem);
    const verdict = await fixture.verifier({ anchors: { roots, intermediates: [intermediate] } }).verify(headers, body);
    expect(verdict.ok).toBe(true);
  });

  it('accepts the algorithm name in any letter case, and the same signature in both headers', async () => {
    const { headers, body } = fixture.delivery();
    headers.set('x-ms-signature-algorithm', 'RSA-SHA256');
    headers.set('x-ms-signature', headers.get('authorization')!.replace('Signature ', ''));
    expect((await fixture.verifier().verify(headers, body)).ok).toBe(true);
  });

  it('ignores an Authorization header of another scheme when x-ms-signature carries the signature', async () => {
    const { headers, body } = fixture.delivery({ style: 'x-ms-signature' });
    headers.set('authorization', 'Bearer something-else');
    expect((await fixture.verifier().verify(headers, body)).ok).toBe(true);
  });
});

describe('SignatureVerifier: every refusal has its reason', () => {
  type Case = {
    name: string;
    reason: RefusalReason;
    detail?: string;
    change: (d: { headers: Headers; body: Buffer }) => Buffer | void;
  };
  const cases: Case[] = [
    { name: 'a body over the size cap', reason: RefusalReason.BodyTooLarge, change: () => Buffer.alloc(20_000, 0x20) },
    {
      name: 'a declared Content-Length over the cap (body not read)',
      reason: RefusalReason.BodyTooLarge,
      change: ({ headers }) => {
        headers.set('content-length', '1000000');
        return Buffer.alloc(0);
      },
    },
    {
      name: 'no signature header',
      reason: RefusalReason.SignatureMissing,
      change: ({ headers }) => headers.delete('authorization'),
    },
    {
      name: 'an Authorization header of another scheme only',
      reason: RefusalReason.SignatureMissing,
      change: ({ headers }) => headers.set('authorization', 'Bearer abc'),
    },
    {
      name: 'a signature that is not base64',
      reason: RefusalReason.SignatureMalformed,
      change: ({ headers }) => headers.set('authorization', 'Signature not*base64!'),
    },
    {
      name: 'two signature headers that disagree',
      reason: RefusalReason.SignatureAmbiguous,
      change: ({ headers }) => headers.set('x-ms-signature', 'AAAA'),
    },
    {
      name: 'no algorithm header',
      reason: RefusalReason.AlgorithmMissing,
      change: ({ headers }) => headers.delete('x-ms-signature-algorithm'),
    },
    ...['rsa-sha1', 'RSA-SHA512', 'hmac-sha256', 'none', 'rsa-sha256, rsa-sha1'].map((algorithm) => ({
      name: `algorithm ${algorithm}`,
      reason: RefusalReason.AlgorithmUnsupported,
      change: ({ headers }: { headers: Headers }) => headers.set('x-ms-signature-algorithm', algorithm),
    })),
    {
      name: 'no certificate URL',
      reason: RefusalReason.CertificateUrlMissing,
      change: ({ headers }) => headers.delete('x-ms-certificate-url'),
    },
    ...[
      (origin: string) => origin.replace('https://127.0.0.1', 'https://localhost') + '/cert/microsoft.cer',
      (origin: string) => origin.replace('https:', 'http:') + '/cert/microsoft.cer',
      (origin: string) => `${origin}/other/microsoft.cer`,
      (origin: string) => `${origin}/cert/sub/microsoft.cer`,
      (origin: string) => `${origin}/cert/microsoft.cer?x=1`,
      (origin: string) => `${origin}/cert/../cert/microsoft.cer`,
      (origin: string) => origin.replace('https://', 'https://user@') + '/cert/microsoft.cer',
      () => 'https://3psostorageacct.blob.core.windows.net/cert/pcnotifications-dispatch.microsoft.com.cer',
    ].map((urlOf, index) => ({
      name: `a certificate URL outside the allow-list (#${index})`,
      reason: RefusalReason.CertificateUrlNotAllowed,
      change: ({ headers }: { headers: Headers }) => headers.set('x-ms-certificate-url', urlOf(fixture.server.origin)),
    })),
    ...[
      { file: HostileFile.Redirect, detail: 'redirect' },
      { file: HostileFile.TooLarge, detail: 'too-large' },
      { file: HostileFile.TooLargeDeclared, detail: 'too-large' },
      { file: HostileFile.NeverEnds, detail: 'timeout' },
      { file: HostileFile.Missing, detail: 'status' },
    ].map(({ file, detail }) => ({
      name: `a certificate URL that answers badly (${file})`,
      reason: RefusalReason.CertificateFetchFailed,
      detail,
      change: ({ headers }: { headers: Headers }) =>
        headers.set('x-ms-certificate-url', `${fixture.server.origin}/cert/${file}`),
    })),
    {
      name: 'a certificate file that is neither DER nor PEM',
      reason: RefusalReason.CertificateMalformed,
      change: ({ headers }) =>
        headers.set('x-ms-certificate-url', `${fixture.server.origin}/cert/${HostileFile.Garbage}`),
    },
    {
      name: 'a body changed after signing',
      reason: RefusalReason.SignatureInvalid,
      change: ({ body }) => Buffer.concat([body.subarray(0, -1), Buffer.from(' }')]),
    },
    {
      name: 'a signature made with another key',
      reason: RefusalReason.SignatureInvalid,
      change: ({ headers, body }) => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        headers.set(
          'authorization',
          `Signature ${signBody(body, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)}`,
        );
      },
    },
  ];

  it.each(cases)('refuses $name: $reason', async ({ reason, detail, change }) => {
    const delivery = fixture.delivery();
    const body = change(delivery) ?? delivery.body;
    const verdict = await fixture
      .verifier({ certificates: fixture.source({ timeoutMs: detail === 'timeout' ? 300 : 5_000 }) })
      .verify(delivery.headers, body);
    expect(verdict).toEqual({ ok: false, reason, ...(detail ? { detail, retryable: expect.any(Boolean) } : {}) });
  });

  it.each([
    { signer: Signer.Expired, reason: RefusalReason.CertificateExpired },
    { signer: Signer.NotYetValid, reason: RefusalReason.CertificateNotYetValid },
    { signer: Signer.OtherCa, reason: RefusalReason.CertificateUntrusted },
    { signer: Signer.OtherOrganisation, reason: RefusalReason.CertificateIssuerNotMicrosoft },
    { signer: Signer.EcKey, reason: RefusalReason.CertificateKeyUnsupported },
  ])('refuses a body correctly signed by the $signer certificate: $reason', async ({ signer, reason }) => {
    const { headers, body } = fixture.delivery({ signer });
    expect(await fixture.verifier().verify(headers, body)).toMatchObject({ ok: false, reason });
  });

  it('refuses a certificate that chains to no configured root (default roots: the Microsoft roots Node bundles)', async () => {
    const { bundledRootsOf } = await import('../../../shared/events/certificateChain');
    const { headers, body } = fixture.delivery();
    const verdict = await fixture
      .verifier({ anchors: { roots: bundledRootsOf(), intermediates: [] } })
      .verify(headers, body);
    expect(verdict).toMatchObject({ ok: false, reason: RefusalReason.CertificateUntrusted });
  });

  it('downloads nothing for a refusal decided by the headers', async () => {
    const before = fixture.server.requests.length;
    const { headers, body } = fixture.delivery();
    headers.set('x-ms-certificate-url', 'https://evil.example/cert/microsoft.cer');
    await fixture.verifier().verify(headers, body);
    headers.set('x-ms-signature-algorithm', 'rsa-sha1');
    await fixture.verifier().verify(headers, body);
    expect(fixture.server.requests.length).toBe(before);
  });

  it('refuses PKCS#1 v1.5 signatures when told the padding is PSS', async () => {
    const { headers, body } = fixture.delivery();
    expect(await fixture.verifier({ padding: 'pss' }).verify(headers, body)).toMatchObject({
      ok: false,
      reason: RefusalReason.SignatureInvalid,
    });
  });
});

describe('SignatureVerifier: properties', () => {
  it('refuses any single-byte change of a signed body', async () => {
    const body = eventBody({ changedAt: '2026-01-01T00:00:00Z' });
    const { headers } = fixture.delivery({ body });
    const verifier = fixture.verifier();
    expect((await verifier.verify(headers, body)).ok).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: body.length - 1 }), fc.integer({ min: 1, max: 255 }), async (index, delta) => {
        const changed = Buffer.from(body);
        changed[index] = (changed[index] + delta) % 256;
        const verdict = await verifier.verify(headers, changed);
        expect(verdict).toMatchObject({ ok: false, reason: RefusalReason.SignatureInvalid });
      }),
      { numRuns: 300, seed: 13 },
    );
  });

  it('refuses any header value that is not a valid signature of the body', async () => {
    const { headers, body } = fixture.delivery();
    const verifier = fixture.verifier();
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 400 }), async (value) => {
        const forged = new Headers(headers);
        forged.set('authorization', `Signature ${value}`);
        expect((await verifier.verify(forged, body)).ok).toBe(false);
      }),
      { numRuns: 200, seed: 14 },
    );
  });
});
