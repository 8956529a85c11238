import { resolveAppSettings, SANDBOX_OWN_SETTINGS } from '../../../sandbox/sandbox';

const choices = {
  CALLBACK_ALLOW_PRIVATE_TARGETS: 'true',
  PARTNER_CENTER_BASE_URL: 'http://127.0.0.1:7081',
  NODE_EXTRA_CA_CERTS: '/repo/.sandbox/ca.pem',
};

describe('the app settings npm start runs with', () => {
  it("are the sandbox's own choices when the environment names none of them", () => {
    expect(resolveAppSettings(choices, { PATH: '/usr/bin', LOG_LEVEL: 'debug' })).toEqual({
      appSettings: choices,
      environmentOverrides: [],
    });
  });

  it("take a variable of the environment over the sandbox's choice, and name it", () => {
    const { appSettings, environmentOverrides } = resolveAppSettings(choices, {
      CALLBACK_ALLOW_PRIVATE_TARGETS: 'false',
      PARTNER_CENTER_BASE_URL: 'https://api.partner.microsoft.com',
    });
    expect(appSettings).toMatchObject({
      CALLBACK_ALLOW_PRIVATE_TARGETS: 'false',
      PARTNER_CENTER_BASE_URL: 'https://api.partner.microsoft.com',
    });
    expect(environmentOverrides).toEqual(['CALLBACK_ALLOW_PRIVATE_TARGETS', 'PARTNER_CENTER_BASE_URL']);
  });

  it('take an empty variable as set (the app then reports it if it is malformed)', () => {
    const { appSettings } = resolveAppSettings(choices, { CALLBACK_ALLOW_PRIVATE_TARGETS: '' });
    expect(appSettings.CALLBACK_ALLOW_PRIVATE_TARGETS).toBe('');
  });

  it("do not list a variable that repeats the sandbox's own value", () => {
    expect(resolveAppSettings(choices, { CALLBACK_ALLOW_PRIVATE_TARGETS: 'true' }).environmentOverrides).toEqual([]);
  });

  it('keep the CA file the stand-ins need whatever the environment says', () => {
    expect(SANDBOX_OWN_SETTINGS.has('NODE_EXTRA_CA_CERTS')).toBe(true);
    const { appSettings, environmentOverrides } = resolveAppSettings(choices, {
      NODE_EXTRA_CA_CERTS: '/etc/corporate-ca.pem',
    });
    expect(appSettings.NODE_EXTRA_CA_CERTS).toBe('/repo/.sandbox/ca.pem');
    expect(environmentOverrides).toEqual([]);
  });

  it('let explicit settings (tests, chaos runs) win over both', () => {
    const { appSettings, environmentOverrides } = resolveAppSettings(
      choices,
      { CALLBACK_ALLOW_PRIVATE_TARGETS: 'false' },
      { CALLBACK_ALLOW_PRIVATE_TARGETS: 'yes', SWEEPER_SCHEDULE: '*/2 * * * * *' },
    );
    expect(appSettings).toMatchObject({ CALLBACK_ALLOW_PRIVATE_TARGETS: 'yes', SWEEPER_SCHEDULE: '*/2 * * * * *' });
    expect(environmentOverrides).toEqual([]);
  });
});
