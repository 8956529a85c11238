import fc from 'fast-check';
import { loadSettings, TIMER_SCHEDULE_DEFAULTS } from '../../../shared/platform/config';
import { timerSchedule, type TimerScheduleSetting } from '../../../shared/platform/schedules';

/** The settings loadSettings needs besides the schedules. */
const REQUIRED = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  ENTRA_TENANT_ID: 'contoso.example',
  KEY_VAULT_URL: 'https://vault.example',
};

const SETTINGS: TimerScheduleSetting[] = ['SWEEPER_SCHEDULE', 'TOKEN_KEEPALIVE_SCHEDULE'];

describe('timer schedules', () => {
  it.each([
    { setting: 'SWEEPER_SCHEDULE' as const, expected: '0 */1 * * * *' },
    { setting: 'TOKEN_KEEPALIVE_SCHEDULE' as const, expected: '0 17 3 * * *' },
  ])('$setting defaults to $expected in the settings object and at registration', ({ setting, expected }) => {
    expect(TIMER_SCHEDULE_DEFAULTS[setting]).toBe(expected);
    expect(loadSettings(REQUIRED)[setting]).toBe(expected);
    expect(timerSchedule(setting, {})).toBe(expected);
  });

  it.each(SETTINGS)('%s set in the environment wins, trimmed, in both places', (setting) => {
    const env = { ...REQUIRED, [setting]: '  */2 * * * * *  ' };
    expect(loadSettings(env)[setting]).toBe('*/2 * * * * *');
    expect(timerSchedule(setting, env)).toBe('*/2 * * * * *');
  });

  it.each(SETTINGS)('a blank %s means the default, not an empty schedule', (setting) => {
    const env = { ...REQUIRED, [setting]: '   ' };
    expect(loadSettings(env)[setting]).toBe(TIMER_SCHEDULE_DEFAULTS[setting]);
    expect(timerSchedule(setting, env)).toBe(TIMER_SCHEDULE_DEFAULTS[setting]);
  });

  it.each(SETTINGS)(
    'a malformed %s fails loadSettings naming it and reaches the host unchanged (never replaced by the default)',
    (setting) => {
      const env = { ...REQUIRED, [setting]: 'every minute' };
      expect(() => loadSettings(env)).toThrow(new RegExp(`${setting} \\(must be a 6-field NCRONTAB expression\\)`));
      expect(timerSchedule(setting, env)).toBe('every minute');
    },
  );

  it('registration and loadSettings agree on every value: same schedule, or both refuse it', () => {
    const fieldChar = fc.constantFrom('*', '/', ',', '-', '0', '1', '5', '9', 'a', ' ', '\t');
    fc.assert(
      fc.property(fc.constantFrom(...SETTINGS), fc.string({ unit: fieldChar, maxLength: 30 }), (setting, raw) => {
        const env = { ...REQUIRED, [setting]: raw };
        const registered = timerSchedule(setting, env);
        let validated: string | undefined;
        try {
          validated = loadSettings(env)[setting];
        } catch {
          validated = undefined;
        }
        if (validated === undefined) expect(registered).toBe(raw);
        else expect(registered).toBe(validated);
      }),
      { numRuns: 300 },
    );
  });
});
