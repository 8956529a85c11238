/**
 * The timer trigger of one function: runs at each occurrence of its schedule (and once at start-up
 * with `runOnStartup`). Runs never overlap: the next occurrence is computed after a run ends, from the
 * later of "now" and the occurrence that just ran. A failing run is retried per the function's
 * `retry` option (fixedDelay / exponentialBackoff), as the runtime does for timers.
 *
 * The input is the host's TimerInfo (`{ Schedule: { AdjustForDST }, ScheduleStatus: { Last, Next,
 * LastUpdated }, IsPastDue }`), which the library camelCases. ScheduleStatus is kept in memory
 * only (no schedule monitor in blob storage) [inferred shape of ScheduleStatus values].
 */
import type { FunctionPlan } from './functionBindings';
import type { HostLog } from './hostLog';
import type { InvocationInput } from './invokeFunction';
import { parseSchedule, type TimerSchedule } from './ncrontab';

/** .NET DateTime.MinValue as the host reports "never ran". */
const NEVER = '0001-01-01T00:00:00';
/** Longest setTimeout Node accepts; longer waits are chained. */
const MAX_TIMEOUT_MS = 2_147_483_647;
/** A run later than its occurrence by more than this counts as past due. */
const PAST_DUE_TOLERANCE_MS = 1_000;

/** Dependencies of {@link TimerListener}. */
export interface TimerListenerOptions {
  plan: FunctionPlan;
  invoke: (input: InvocationInput) => Promise<unknown>;
  log: HostLog;
  /** @default () => new Date() */
  now?: () => Date;
}

interface RetryPolicy {
  maxRetryCount: number;
  delayMs(retry: number): number;
}

/** Schedules and runs one timer-triggered function. */
export class TimerListener {
  readonly schedule: TimerSchedule;
  readonly #options: TimerListenerOptions;
  readonly #now: () => Date;
  readonly #retry: RetryPolicy | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #lastOccurrence: Date | undefined;

  constructor(options: TimerListenerOptions) {
    const timer = options.plan.timer;
    if (!timer) throw new TypeError(`Function ${options.plan.name} has no timer trigger`);
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.schedule = parseSchedule(timer.schedule);
    this.#retry = retryPolicy(options.plan.fn.metadata as { retryOptions?: unknown });
  }

  /** The next occurrence from now (for the start-up listing). */
  nextOccurrence(): Date | undefined {
    return this.schedule.next(this.#now());
  }

  /** Starts the schedule; with runOnStartup, runs once right away. */
  start(): void {
    if (this.#options.plan.timer?.runOnStartup) {
      this.#running = this.#fire(this.#now(), 'RunOnStartup').finally(() => {
        this.#running = undefined;
        this.#scheduleNext(this.#now());
      });
      return;
    }
    this.#scheduleNext(this.#now());
  }

  /** Cancels the schedule and waits up to `drainMs` for a run in progress. */
  async stop(drainMs: number): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!this.#running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#running, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
  }

  /** Runs the function now, outside the schedule (the admin endpoint). */
  runNow(): Promise<void> {
    return this.#fire(this.#now(), 'Manual');
  }

  #scheduleNext(from: Date): void {
    if (this.#stopped) return;
    const occurrence = this.schedule.next(from);
    if (!occurrence) {
      this.#options.log.host(
        'warning',
        `Timer '${this.#options.plan.name}' (${this.schedule.expression}) has no future occurrence`,
      );
      return;
    }
    const arm = (): void => {
      const waitMs = occurrence.getTime() - this.#now().getTime();
      if (waitMs > MAX_TIMEOUT_MS) {
        this.#timer = setTimeout(arm, MAX_TIMEOUT_MS);
        return;
      }
      this.#timer = setTimeout(
        () => {
          if (this.#stopped) return;
          this.#running = this.#fire(occurrence, 'Timer').finally(() => {
            this.#running = undefined;
            const now = this.#now();
            this.#scheduleNext(now > occurrence ? now : occurrence);
          });
        },
        Math.max(0, waitMs),
      );
    };
    arm();
  }

  async #fire(occurrence: Date, reason: string): Promise<void> {
    const { plan, log } = this.#options;
    const now = this.#now();
    const timerInfo = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: {
        Last: this.#lastOccurrence?.toISOString() ?? NEVER,
        Next: this.schedule.next(occurrence)?.toISOString() ?? NEVER,
        LastUpdated: now.toISOString(),
      },
      IsPastDue: reason === 'Timer' && now.getTime() - occurrence.getTime() > PAST_DUE_TOLERANCE_MS,
    };
    this.#lastOccurrence = occurrence;
    const maxRetryCount = this.#retry?.maxRetryCount ?? 0;
    for (let retryCount = 0; retryCount <= maxRetryCount && !this.#stopped; retryCount++) {
      try {
        await this.#options.invoke({
          inputData: [{ name: plan.triggerName, data: { json: JSON.stringify(timerInfo) } }],
          triggerMetadata: {},
          retryContext: this.#retry ? { retryCount, maxRetryCount } : undefined,
          reason:
            reason === 'Timer'
              ? 'Timer fired at ' + now.toISOString()
              : reason === 'RunOnStartup'
                ? 'RunOnStartup'
                : 'Manual',
        });
        return;
      } catch {
        // invokeFunction logged it
        if (retryCount < maxRetryCount && this.#retry) {
          const delayMs = this.#retry.delayMs(retryCount + 1);
          log.fn(plan.name, 'information', `Retrying in ${delayMs}ms (retry ${retryCount + 1} of ${maxRetryCount})`);
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
    }
  }
}

/** The retry option the library registered (`retryOptions` of the metadata), if any. */
function retryPolicy(metadata: { retryOptions?: unknown }): RetryPolicy | undefined {
  const options = metadata.retryOptions as
    | {
        retryStrategy?: string;
        maxRetryCount?: number;
        delayInterval?: { seconds?: number };
        minimumInterval?: { seconds?: number };
        maximumInterval?: { seconds?: number };
      }
    | undefined;
  if (!options || typeof options.maxRetryCount !== 'number') return undefined;
  const maxRetryCount = options.maxRetryCount < 0 ? 1000 : options.maxRetryCount;
  if (options.retryStrategy === 'exponentialBackoff') {
    const minMs = (options.minimumInterval?.seconds ?? 1) * 1000;
    const maxMs = (options.maximumInterval?.seconds ?? 60) * 1000;
    return { maxRetryCount, delayMs: (retry) => Math.min(maxMs, minMs * 2 ** (retry - 1)) };
  }
  const delayMs = (options.delayInterval?.seconds ?? 0) * 1000;
  return { maxRetryCount, delayMs: () => delayMs };
}
