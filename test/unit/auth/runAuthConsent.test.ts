import { CONSENT_SCOPE, TokenBroker, runAuthConsent, type FetchLike } from '../../../shared/auth';
import {
  FakeClock,
  SECRET_NAMES,
  brokerOptions,
  recordingSleep,
  startAuthStandIns,
  type AuthStandIns,
} from './helpers/authStandIns';

describe('Function: runAuthConsent', () => {
  let standIns: AuthStandIns;

  beforeAll(async () => {
    standIns = await startAuthStandIns({ seedRefreshToken: false });
  });

  afterAll(async () => {
    await standIns.close();
  });

  it('signs in with the device code flow and stores a refresh token the broker can redeem', async () => {
    // Prepare: the stand-in approves the code at its 2nd poll; record what is asked and answered
    const printed: string[] = [];
    const seen: string[] = [];
    const forms: URLSearchParams[] = [];
    const fetch: FetchLike = async (url, init) => {
      forms.push(new URLSearchParams(typeof init?.body === 'string' ? init.body : ''));
      const response = await standIns.fetch(url, init);
      const body = (await response
        .clone()
        .json()
        .catch(() => ({}))) as Record<string, unknown>;
      for (const key of ['access_token', 'refresh_token', 'device_code'])
        if (typeof body[key] === 'string') seen.push(body[key]);
      return response;
    };
    const { sleep, delays } = recordingSleep();

    // Act
    const result = await runAuthConsent({
      secretClient: standIns.secretClient,
      authorityHost: standIns.entra.authorityHost,
      tenantId: standIns.entra.tenantId,
      secretNames: { ...SECRET_NAMES },
      print: (line) => printed.push(line),
      fetch,
      sleep,
    });

    // Assess
    const stored = standIns.keyVault.secretValue(SECRET_NAMES.refreshToken);
    expect(stored).toBeDefined();
    expect(result.version).toMatch(/^[0-9a-f]{32}$/);
    expect(printed.join('\n')).toMatch(/open https:\/\/127\.0\.0\.1:\d+\/devicelogin and enter the code [A-Z0-9]+/);
    expect(forms[0].get('scope')).toBe(CONSENT_SCOPE);
    expect(forms.at(-1)?.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:device_code');
    expect(forms.at(-1)?.get('client_secret')).toBe(standIns.app.clientSecret);
    expect(delays.every((d) => d >= 5_000)).toBe(true); // the interval the endpoint named
    for (const secret of [...seen, stored ?? '']) expect(printed.join('\n')).not.toContain(secret);
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock() }));
    await expect(broker.getAccessToken()).resolves.toEqual(expect.any(String));
    expect(standIns.entra.stats().reuseDetections).toBe(0);
  });

  it('fails with an AuthError when the code expires before anyone signs in', async () => {
    // Prepare: a stand-in that never auto-approves, with 10 s codes; the sleep moves a fake clock
    const slow = await startAuthStandIns({
      seedRefreshToken: false,
      entra: { deviceCode: { autoApproveAfterPolls: 0, lifetimeSeconds: 10, intervalSeconds: 5 } },
    });
    try {
      const clock = new FakeClock();
      const { sleep } = recordingSleep(clock);

      // Act
      const error = await runAuthConsent({
        secretClient: slow.secretClient,
        authorityHost: slow.entra.authorityHost,
        tenantId: slow.entra.tenantId,
        secretNames: { ...SECRET_NAMES },
        print: () => undefined,
        fetch: slow.fetch,
        sleep,
        clock,
      }).catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ name: 'AuthError', message: expect.stringContaining('run the command again') });
      expect(slow.keyVault.secretValue(SECRET_NAMES.refreshToken)).toBeUndefined();
    } finally {
      await slow.close();
    }
  });
});
