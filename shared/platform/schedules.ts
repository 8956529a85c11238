/**
 * Timer schedules: the settings a timer function needs when it registers (at module load, before any
 * invocation), so they are read here without zod (zod costs ~65 ms to load; bench:coldstart). The
 * validated settings object (config.ts) declares the same settings through {@link resolveTimerSchedule},
 * so the registration and `loadSettings()` agree on the default and on what is malformed.
 */

/** The timer settings and their defaults (6-field NCRONTAB: seconds first). */
export const TIMER_SCHEDULE_DEFAULTS = {
  /** The sweeper: every minute. */
  SWEEPER_SCHEDULE: '0 */1 * * * *',
  /** The token keep-alive: daily at 03:17, so the refresh token is redeemed at least once a day. */
  TOKEN_KEEPALIVE_SCHEDULE: '0 17 3 * * *',
  /** The events reconciliation: every five minutes (the sandbox runs it every 15 s). */
  EVENTS_RECONCILE_SCHEDULE: '0 */5 * * * *',
  /** The retention timer: daily at 02:41. */
  RETENTION_SCHEDULE: '0 41 2 * * *',
} as const;

/** A timer schedule setting's name. */
export type TimerScheduleSetting = keyof typeof TIMER_SCHEDULE_DEFAULTS;

/** Six whitespace-separated fields (the host's NCRONTAB parser has the final word on each field). */
const NCRONTAB_SIX_FIELDS = /^(\S+\s+){5}\S+$/;

/** The problem text of a malformed schedule (config.ts reports it under the setting's name). */
export const MALFORMED_SCHEDULE = 'must be a 6-field NCRONTAB expression';

/**
 * The schedule `raw` (an environment value) stands for: its default when unset or blank, the trimmed
 * value when it has six fields, else `ok: false`.
 */
export function resolveTimerSchedule(
  setting: TimerScheduleSetting,
  raw: string | undefined,
): { ok: true; schedule: string } | { ok: false; problem: string } {
  const value = raw?.trim();
  if (!value) return { ok: true, schedule: TIMER_SCHEDULE_DEFAULTS[setting] };
  return NCRONTAB_SIX_FIELDS.test(value) ? { ok: true, schedule: value } : { ok: false, problem: MALFORMED_SCHEDULE };
}

/**
 * The schedule a timer registers with. A malformed value is passed on unchanged: the host refuses that
 * one timer at registration and names it, and `loadSettings()` fails with a ConfigError naming the
 * setting, so it is reported twice rather than silently replaced by the default.
 */
export function timerSchedule(
  setting: TimerScheduleSetting,
  env: Record<string, string | undefined> = process.env,
): string {
  const resolved = resolveTimerSchedule(setting, env[setting]);
  return resolved.ok ? resolved.schedule : (env[setting] ?? '');
}
