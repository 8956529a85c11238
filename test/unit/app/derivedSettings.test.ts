import type { Settings } from '../../../shared/platform/config';
import { statusUrlBuilder, stepLeaseDurationMs } from '../../../shared/app/derivedSettings';

const leaseSettings = (stepLeaseSeconds: number): Settings =>
  ({
    STEP_LEASE_SECONDS: stepLeaseSeconds,
    PARTNER_CENTER_TIMEOUT_MS: 30_000,
    PARTNER_CENTER_MAX_ATTEMPTS: 4,
  }) as Settings;

describe('the step lease', () => {
  it('is STEP_LEASE_SECONDS when set', () => {
    expect(stepLeaseDurationMs(leaseSettings(90))).toBe(90_000);
  });

  it('otherwise covers every attempt of a Partner Center call and its longest backoff', () => {
    expect(stepLeaseDurationMs(leaseSettings(0))).toBe((30_000 + 30_000) * 4);
  });
});

describe('status links', () => {
  it('use PUBLIC_BASE_URL first, without its trailing slashes', () => {
    const statusUrlFor = statusUrlBuilder({ PUBLIC_BASE_URL: 'https://bridge.example.com//' }, 'app.azurewebsites.net');
    expect(statusUrlFor('r1', 'https://request.example.com')).toBe('https://bridge.example.com/api/referrals/r1');
  });

  it("then the origin of the request that created the record, then the app's host name", () => {
    const statusUrlFor = statusUrlBuilder({ PUBLIC_BASE_URL: undefined }, 'app.azurewebsites.net');
    expect(statusUrlFor('r1', 'https://request.example.com')).toBe('https://request.example.com/api/referrals/r1');
    expect(statusUrlFor('r1')).toBe('https://app.azurewebsites.net/api/referrals/r1');
  });

  it('use http for a local host name and a relative link when nothing names the host', () => {
    expect(statusUrlBuilder({ PUBLIC_BASE_URL: undefined }, 'localhost:7071')('r1')).toBe(
      'http://localhost:7071/api/referrals/r1',
    );
    expect(statusUrlBuilder({ PUBLIC_BASE_URL: undefined }, undefined)('r1')).toBe('/api/referrals/r1');
  });
});
