import { HostileFile, Signer } from '../../../bench/lib/eventPki';
import { CertificateFetchError } from '../../../shared/events/errors';
import { parseCertificateFile } from '../../../shared/events/certificateSource';
import { useEventFixture } from './helpers';

const fixture = useEventFixture();

const requestsFor = (path: string) => fixture.server.requests.filter((request) => request === path).length;

describe('HttpsCertificateSource', () => {
  it('reads a DER certificate and a PEM chain (leaf first, then intermediates)', async () => {
    const source = fixture.source();
    const der = await source.get(new URL(fixture.server.urlOf(Signer.Microsoft, 'der', '1')));
    expect(der.leaf.subject).toContain('O=Microsoft Corporation');
    expect(der.intermediates).toEqual([]);
    const pem = await source.get(new URL(fixture.server.urlOf(Signer.ViaIntermediate, 'pem', '1')));
    expect(pem.intermediates.map((c) => c.subject)).toEqual([expect.stringContaining('Fixture Microsoft Issuing CA')]);
  });

  it('downloads a URL once while it is cached, and once for concurrent callers', async () => {
    const source = fixture.source();
    const url = fixture.server.urlOf(Signer.Microsoft, 'der', '2');
    const path = new URL(url).pathname;
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => source.get(new URL(url))));
    await source.get(new URL(url));
    expect(a.leaf.fingerprint256).toBe(b.leaf.fingerprint256);
    expect(c.leaf.fingerprint256).toBe(a.leaf.fingerprint256);
    expect(requestsFor(path)).toBe(1);
    expect(source.downloads).toBe(1);
  });

  it('downloads again once the TTL has passed', async () => {
    let nowMs = 1_000_000;
    const source = fixture.source({ cacheTtlMs: 60_000, nowMs: () => nowMs });
    const url = new URL(fixture.server.urlOf(Signer.Microsoft, 'der', '3'));
    await source.get(url);
    nowMs += 59_999;
    await source.get(url);
    expect(source.downloads).toBe(1);
    nowMs += 2;
    await source.get(url);
    expect(source.downloads).toBe(2);
  });

  it('keeps at most cacheMaxEntries URLs, dropping the least recently used', async () => {
    const source = fixture.source({ cacheMaxEntries: 2 });
    const url = (tag: string) => new URL(fixture.server.urlOf(Signer.Microsoft, 'der', tag));
    await source.get(url('41'));
    await source.get(url('42'));
    await source.get(url('41')); // 41 is now the most recent
    await source.get(url('43')); // evicts 42
    expect(source.downloads).toBe(3);
    await source.get(url('41'));
    expect(source.downloads).toBe(3);
    await source.get(url('42'));
    expect(source.downloads).toBe(4);
  });

  it('does not cache a failure', async () => {
    const source = fixture.source();
    const url = new URL(`${fixture.server.origin}/cert/${HostileFile.Missing}`);
    await expect(source.get(url)).rejects.toBeInstanceOf(CertificateFetchError);
    await expect(source.get(url)).rejects.toBeInstanceOf(CertificateFetchError);
    expect(source.downloads).toBe(2);
  });

  it.each([
    { file: HostileFile.Redirect, failure: 'redirect', retryable: false },
    { file: HostileFile.TooLarge, failure: 'too-large', retryable: false },
    { file: HostileFile.TooLargeDeclared, failure: 'too-large', retryable: false },
    { file: HostileFile.NeverEnds, failure: 'timeout', retryable: true },
    { file: HostileFile.Missing, failure: 'status', retryable: false },
    { file: HostileFile.Garbage, failure: 'malformed', retryable: false },
  ])('fails a download of $file with $failure', async ({ file, failure, retryable }) => {
    const source = fixture.source({ timeoutMs: failure === 'timeout' ? 300 : 5_000 });
    const error = await source.get(new URL(`${fixture.server.origin}/cert/${file}`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CertificateFetchError);
    expect(error).toMatchObject({ failure, retryable });
  });

  it('does not follow a redirect', async () => {
    const before = requestsFor(`/cert/${Signer.Microsoft}.cer`);
    await fixture
      .source()
      .get(new URL(`${fixture.server.origin}/cert/${HostileFile.Redirect}`))
      .catch(() => undefined);
    expect(requestsFor(`/cert/${Signer.Microsoft}.cer`)).toBe(before);
  });

  it('refuses a TLS server it does not trust', async () => {
    const source = fixture.source({ tlsCa: fixture.pki.trustedRootsPem });
    await expect(source.get(new URL(fixture.server.urlOf(Signer.Microsoft, 'der', '5')))).rejects.toMatchObject({
      failure: 'network',
    });
  });

  it('refuses a URL that is not https', async () => {
    await expect(fixture.source().get(new URL('http://127.0.0.1/cert/x.cer'))).rejects.toMatchObject({
      failure: 'network',
    });
  });
});

describe('parseCertificateFile', () => {
  it('reads DER and PEM, and refuses anything else', () => {
    const signer = fixture.pki.signers[Signer.Microsoft];
    expect(parseCertificateFile(signer.der).leaf.fingerprint256).toBe(
      parseCertificateFile(Buffer.from(signer.certPem)).leaf.fingerprint256,
    );
    for (const bytes of [
      Buffer.alloc(0),
      Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'),
      signer.der.subarray(0, 100),
    ]) {
      expect(() => parseCertificateFile(bytes)).toThrow(CertificateFetchError);
    }
  });
});
