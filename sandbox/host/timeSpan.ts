/**
 * .NET TimeSpan text as host.json writes durations: `hh:mm:ss`, `hh:mm:ss.fff`, `d.hh:mm:ss`.
 */
import { LocalHostError } from './errors';

const TIMESPAN = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/;

/**
 * Milliseconds of a TimeSpan string (a number is taken as milliseconds already). Throws
 * {@link LocalHostError} (`config`) naming `setting` when the text is not a TimeSpan.
 */
export function parseTimeSpanMs(value: unknown, setting: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const match = typeof value === 'string' ? TIMESPAN.exec(value.trim()) : null;
  if (!match || match[1]) {
    throw new LocalHostError(`${setting} must be a TimeSpan like "00:00:30" (got ${JSON.stringify(value)})`, {
      code: 'config',
      subject: setting,
    });
  }
  const [, , days, hours, minutes, seconds, fraction] = match;
  const wholeSeconds = ((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds ?? 0);
  const fractionMs = fraction ? Math.round(Number(`0.${fraction}`) * 1000) : 0;
  return wholeSeconds * 1000 + fractionMs;
}
