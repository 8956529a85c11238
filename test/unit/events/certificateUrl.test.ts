import { allowedCertificateUrl, parseCertificateUrlAllowlist } from '../../../shared/events/certificateUrl';
import { DEFAULT_CERT_URL_ALLOWLIST } from '../../../shared/events/constants';
import { CertificateAllowlistError } from '../../../shared/events/errors';

const documented = 'https://3psostorageacct.blob.core.windows.net/cert/pcnotifications-dispatch.microsoft.com.cer';

describe('certificate URL allow-list', () => {
  const defaults = parseCertificateUrlAllowlist(DEFAULT_CERT_URL_ALLOWLIST);

  it("allows the documented example's URL by default", () => {
    expect(allowedCertificateUrl(documented, defaults)?.href).toBe(documented);
  });

  it.each([
    ['another host', 'https://evil.blob.core.windows.net/cert/pcnotifications-dispatch.microsoft.com.cer'],
    ['a look-alike host', 'https://3psostorageacct.blob.core.windows.net.evil.example/cert/x.cer'],
    ['http', documented.replace('https:', 'http:')],
    ['an explicit port', documented.replace('.net/', '.net:8443/')],
    ['an explicit :443 (not canonical)', documented.replace('.net/', '.net:443/')],
    ['upper-case host (not canonical)', documented.replace('3psostorageacct', '3PSOSTORAGEACCT')],
    ['another folder', 'https://3psostorageacct.blob.core.windows.net/other/x.cer'],
    ['a sub-folder', 'https://3psostorageacct.blob.core.windows.net/cert/a/x.cer'],
    ['the folder itself', 'https://3psostorageacct.blob.core.windows.net/cert/'],
    ['dot segments', 'https://3psostorageacct.blob.core.windows.net/cert/../cert/x.cer'],
    ['percent-encoding', 'https://3psostorageacct.blob.core.windows.net/cert/x%2Fy.cer'],
    ['a query', `${documented}?sv=1`],
    ['an empty query', `${documented}?`],
    ['a fragment', `${documented}#x`],
    ['user info', documented.replace('https://', 'https://a:b@')],
    ['a backslash', documented.replace('/cert/', '\\cert\\')],
    ['surrounding text', ` ${documented}`],
    ['not a URL', 'pcnotifications-dispatch.microsoft.com.cer'],
    ['an overlong URL', `https://3psostorageacct.blob.core.windows.net/cert/${'a'.repeat(3000)}.cer`],
  ])('refuses %s', (_name, url) => {
    expect(allowedCertificateUrl(url, defaults)).toBeUndefined();
  });

  it('reads several entries with ports and exact paths', () => {
    const rules = parseCertificateUrlAllowlist('https://127.0.0.1:8443/certs/*, example.org/exact/file.cer');
    expect(rules).toEqual([
      { host: '127.0.0.1:8443', path: '/certs/', wildcard: true },
      { host: 'example.org', path: '/exact/file.cer', wildcard: false },
    ]);
    expect(allowedCertificateUrl('https://127.0.0.1:8443/certs/signing.cer', rules)).toBeDefined();
    expect(allowedCertificateUrl('https://127.0.0.1/certs/signing.cer', rules)).toBeUndefined();
    expect(allowedCertificateUrl('https://example.org/exact/file.cer', rules)).toBeDefined();
    expect(allowedCertificateUrl('https://example.org/exact/other.cer', rules)).toBeUndefined();
  });

  it.each([
    '',
    ' , ',
    'host-only',
    '/path-only/*',
    'example.org/a*b',
    'example.org/a/*/b',
    'example.org/prefix*',
    'exa mple.org/x',
  ])('refuses the setting %p', (setting) => {
    expect(() => parseCertificateUrlAllowlist(setting)).toThrow(CertificateAllowlistError);
  });
});
