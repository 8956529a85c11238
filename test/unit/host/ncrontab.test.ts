import fc from 'fast-check';
import { parseSchedule } from '../../../sandbox/host/ncrontab';
import { LocalHostError } from '../../../sandbox/host/errors';

/** Local-time date (the schedule works in the process's time zone). */
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): Date => new Date(y, mo - 1, d, h, mi, s);

describe('NCRONTAB schedules', () => {
  it.each([
    ['every 5 minutes', '0 */5 * * * *', at(2026, 3, 10, 12, 3, 7), at(2026, 3, 10, 12, 5, 0)],
    ['every second', '* * * * * *', at(2026, 3, 10, 12, 3, 7), at(2026, 3, 10, 12, 3, 8)],
    ['every minute, from the exact occurrence', '0 */1 * * * *', at(2026, 3, 10, 12, 3, 0), at(2026, 3, 10, 12, 4, 0)],
    ['a list of seconds', '5,10,50 * * * * *', at(2026, 3, 10, 12, 3, 11), at(2026, 3, 10, 12, 3, 50)],
    ['a range with a step', '0 10-40/15 * * * *', at(2026, 3, 10, 12, 26, 0), at(2026, 3, 10, 12, 40, 0)],
    ['a start with a step', '0 0 7/8 * * *', at(2026, 3, 10, 16, 0, 0), at(2026, 3, 10, 23, 0, 0)],
    ['weekdays at 09:30 (names)', '0 30 9 * * Mon-Fri', at(2026, 3, 14, 10, 0, 0), at(2026, 3, 16, 9, 30, 0)],
    ['Sunday as 7', '0 0 0 * * 7', at(2026, 3, 10, 0, 0, 0), at(2026, 3, 15, 0, 0, 0)],
    ['month names, rolling into the next year', '0 0 0 1 Jan *', at(2026, 3, 10), at(2027, 1, 1)],
    ['the 31st skips short months', '0 0 12 31 * *', at(2026, 4, 1), at(2026, 5, 31, 12)],
    ['29 February waits for a leap year', '0 0 0 29 2 *', at(2026, 3, 1), at(2028, 2, 29)],
    ['day of month AND day of week', '0 0 0 13 * Fri', at(2026, 1, 1), at(2026, 2, 13)],
  ])('%s: %s', (_name, expression, after, expected) => {
    expect(parseSchedule(expression).next(after)).toEqual(expected);
  });

  it('has no occurrence for an impossible date', () => {
    expect(parseSchedule('0 0 0 31 2 *').next(at(2026, 1, 1))).toBeUndefined();
  });

  it('reads a TimeSpan as an interval', () => {
    const schedule = parseSchedule('00:00:30');
    expect(schedule.kind).toBe('interval');
    expect(schedule.next(new Date(1_000_000))).toEqual(new Date(1_030_000));
    expect(parseSchedule('1.00:00:00').next(new Date(0))).toEqual(new Date(86_400_000));
  });

  it.each([
    ['five fields (cron without seconds)', '*/5 * * * *'],
    ['a value out of range', '60 * * * * *'],
    ['a backwards range', '0 30-10 * * * *'],
    ['a zero step', '*/0 * * * * *'],
    ['an unknown name', '0 0 0 * * Funday'],
    ['garbage', 'every five minutes please ok'],
    ['a zero TimeSpan', '00:00:00'],
  ])('refuses %s', (_name, expression) => {
    expect(() => parseSchedule(expression)).toThrow(LocalHostError);
  });

  const field = (min: number, max: number) =>
    fc.oneof(
      fc.constant('*'),
      fc.integer({ min, max }).map(String),
      fc
        .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
        .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.integer({ min: 1, max: max - min + 1 }).map((step) => `*/${step}`),
      fc.uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 4 }).map((values) => values.join(',')),
    );
  const allowed = (text: string, value: number, min: number, max: number): boolean =>
    text.split(',').some((item) => {
      const [range, step] = item.split('/') as [string, string | undefined];
      const [from, to] =
        range === '*'
          ? [min, max]
          : range.includes('-')
            ? range.split('-').map(Number)
            : [Number(range), step ? max : Number(range)];
      return value >= from && value <= to && (value - from) % Number(step ?? 1) === 0;
    });
  const afterDates = fc.date({ min: new Date(2020, 0, 1), max: new Date(2035, 0, 1), noInvalidDate: true });

  it('finds the FIRST matching second after any instant (brute-force check within an hour)', () => {
    fc.assert(
      fc.property(field(0, 59), field(0, 59), afterDates, (seconds, minutes, after) => {
        const next = parseSchedule(`${seconds} ${minutes} * * * *`).next(after)!;
        expect(next.getTime()).toBeGreaterThan(after.getTime());
        expect(next.getMilliseconds()).toBe(0);
        const matches = (d: Date) => allowed(seconds, d.getSeconds(), 0, 59) && allowed(minutes, d.getMinutes(), 0, 59);
        expect(matches(next)).toBe(true);
        for (let t = Math.floor(after.getTime() / 1000) * 1000 + 1000; t < next.getTime(); t += 1000) {
          if (matches(new Date(t)))
            throw new Error(`${new Date(t).toISOString()} matches before ${next.toISOString()}`);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('returns an instant that satisfies every field, for any 6-field schedule', () => {
    fc.assert(
      fc.property(
        field(0, 59),
        field(0, 59),
        field(0, 23),
        field(1, 28),
        field(1, 12),
        field(0, 6),
        afterDates,
        (s, mi, h, d, mo, dow, after) => {
          const next = parseSchedule(`${s} ${mi} ${h} ${d} ${mo} ${dow}`).next(after);
          if (next === undefined) return; // e.g. a day-of-month that never falls on the chosen weekdays in range
          expect(next.getTime()).toBeGreaterThan(after.getTime());
          expect(allowed(s, next.getSeconds(), 0, 59)).toBe(true);
          expect(allowed(mi, next.getMinutes(), 0, 59)).toBe(true);
          expect(allowed(h, next.getHours(), 0, 23)).toBe(true);
          expect(allowed(d, next.getDate(), 1, 31)).toBe(true);
          expect(allowed(mo, next.getMonth() + 1, 1, 12)).toBe(true);
          expect(allowed(dow, next.getDay(), 0, 6)).toBe(true);
          // Asking again from just before the answer gives the same answer.
          expect(parseSchedule(`${s} ${mi} ${h} ${d} ${mo} ${dow}`).next(new Date(next.getTime() - 1))).toEqual(next);
        },
      ),
      { numRuns: 200 },
    );
  });
});
