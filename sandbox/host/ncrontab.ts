/**
 * Timer schedules as the Functions timer trigger reads them: a 6-field NCRONTAB expression
 * `{second} {minute} {hour} {day} {month} {day-of-week}`, or a TimeSpan `hh:mm:ss` (an interval).
 *
 * Each field takes `*`, a value, a list `a,b`, a range `a-b`, and steps `* / n`, `a-b/n`, `a/n`; months
 * and days of the week also take names (`Jan`, `Mon`). Occurrences are computed in the process's local
 * time zone (like `func start`; set `TZ` to change it). As in NCrontab, day-of-month and day-of-week
 * must both match [inferred from NCrontab's CrontabSchedule; Vixie cron ORs them instead].
 */
import { LocalHostError } from './errors';

/** A parsed schedule: the next occurrence strictly after a point in time. */
export interface TimerSchedule {
  /** The expression as written. */
  readonly expression: string;
  readonly kind: 'ncrontab' | 'interval';
  /** The next occurrence strictly after `after`, or undefined when there is none (`0 0 0 31 2 *`). */
  next(after: Date): Date | undefined;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day-of-week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/** Bound on the search loop: far more steps than any real schedule needs (years of day steps). */
const MAX_SEARCH_STEPS = 50_000;

const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})$/;

/** Parses an NCRONTAB expression or a TimeSpan; throws {@link LocalHostError} (`binding`) when malformed. */
export function parseSchedule(expression: string): TimerSchedule {
  const trimmed = expression.trim();
  const span = TIMESPAN.exec(trimmed);
  if (span) {
    const [, days, hours, minutes, seconds] = span;
    const intervalMs =
      (((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
    if (intervalMs <= 0) throw invalid(expression, 'a TimeSpan schedule must be longer than zero');
    return { expression, kind: 'interval', next: (after) => new Date(after.getTime() + intervalMs) };
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 6) {
    throw invalid(
      expression,
      `expected 6 fields ({second} {minute} {hour} {day} {month} {day-of-week}), got ${parts.length}`,
    );
  }
  const sets = parts.map((part, index) => parseField(part, FIELDS[index], expression));
  const [seconds, minutes, hours, days, months, weekdays] = sets as [
    Allowed,
    Allowed,
    Allowed,
    Allowed,
    Allowed,
    Allowed,
  ];
  return {
    expression,
    kind: 'ncrontab',
    next: (after) => nextOccurrence(after, { seconds, minutes, hours, days, months, weekdays }),
  };
}

/** Allowed values of one field, indexed by value. */
type Allowed = readonly boolean[];

interface Fields {
  seconds: Allowed;
  minutes: Allowed;
  hours: Allowed;
  days: Allowed;
  months: Allowed;
  weekdays: Allowed;
}

function parseField(text: string, spec: FieldSpec, expression: string): Allowed {
  const allowed: boolean[] = new Array<boolean>(spec.max + 1).fill(false);
  for (const item of text.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw invalid(expression, `field ${spec.name}: cannot read "${item}"`);
    const [, range, stepText] = match;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw invalid(expression, `field ${spec.name}: step must be at least 1`);
    let from: number;
    let to: number;
    if (range === '*') {
      from = spec.min;
      to = spec.max;
    } else {
      const [startText, endText] = range.split('-') as [string, string | undefined];
      from = fieldValue(startText, spec, expression);
      // `a/n` means from a to the end of the range, stepping n.
      to = endText !== undefined ? fieldValue(endText, spec, expression) : stepText !== undefined ? spec.max : from;
      if (to < from) throw invalid(expression, `field ${spec.name}: range ${range} runs backwards`);
    }
    for (let value = from; value <= to; value += step) allowed[value] = true;
  }
  return allowed;
}

function fieldValue(text: string, spec: FieldSpec, expression: string): number {
  let value: number;
  if (/^\d+$/.test(text)) value = Number(text);
  else {
    const index = spec.names?.indexOf(text.slice(0, 3).toLowerCase()) ?? -1;
    if (index < 0 || text.length !== 3) throw invalid(expression, `field ${spec.name}: "${text}" is not a value`);
    value = spec.min + index;
  }
  if (spec.name === 'day-of-week' && value === 7) value = 0; // 7 is Sunday too
  if (value < spec.min || value > spec.max) {
    throw invalid(expression, `field ${spec.name}: ${value} is outside ${spec.min}-${spec.max}`);
  }
  return value;
}

function nextAllowed(allowed: Allowed, from: number): number | undefined {
  for (let value = from; value < allowed.length; value++) if (allowed[value]) return value;
  return undefined;
}

/** Walks forward field by field (month, day, hour, minute, second), jumping to the next allowed value. */
function nextOccurrence(after: Date, f: Fields): Date | undefined {
  let t = new Date(after.getTime() - after.getMilliseconds() + 1000);
  const advance = (candidate: Date, minStepMs: number): Date =>
    // Local-time arithmetic can step back across a DST fall-back; never go backwards.
    candidate.getTime() > t.getTime() ? candidate : new Date(t.getTime() + minStepMs);
  for (let step = 0; step < MAX_SEARCH_STEPS; step++) {
    const y = t.getFullYear();
    const mo = t.getMonth();
    const d = t.getDate();
    const h = t.getHours();
    const mi = t.getMinutes();
    const s = t.getSeconds();
    if (!f.months[mo + 1]) {
      const nextMonth = nextAllowed(f.months, mo + 2);
      t = advance(nextMonth === undefined ? new Date(y + 1, 0, 1) : new Date(y, nextMonth - 1, 1), 1000);
      continue;
    }
    if (!f.days[d] || !f.weekdays[t.getDay()]) {
      t = advance(new Date(y, mo, d + 1), 1000);
      continue;
    }
    if (!f.hours[h]) {
      const nextHour = nextAllowed(f.hours, h + 1);
      t = advance(nextHour === undefined ? new Date(y, mo, d + 1) : new Date(y, mo, d, nextHour), 1000);
      continue;
    }
    if (!f.minutes[mi]) {
      const nextMinute = nextAllowed(f.minutes, mi + 1);
      t = advance(nextMinute === undefined ? new Date(y, mo, d, h + 1) : new Date(y, mo, d, h, nextMinute), 1000);
      continue;
    }
    if (!f.seconds[s]) {
      const nextSecond = nextAllowed(f.seconds, s + 1);
      t = advance(
        nextSecond === undefined ? new Date(y, mo, d, h, mi + 1) : new Date(y, mo, d, h, mi, nextSecond),
        1000,
      );
      continue;
    }
    return t;
  }
  return undefined;
}

function invalid(expression: string, problem: string): LocalHostError {
  return new LocalHostError(`Invalid timer schedule "${expression}": ${problem}`, {
    code: 'binding',
    subject: expression,
  });
}
