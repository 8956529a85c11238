/**
 * The adaptive limiter's two logs of call start times (adaptiveConcurrency.ts): the accepted calls its
 * pace is learned from (learnedPace.ts), and the recent starts its sliding window counts.
 */

/** Start times of accepted calls, oldest first (pruned to `keepMs` before the newest): what a pace is learned from. */
export class AcceptedStarts {
  readonly #keepMs: number;
  readonly #startsMs: number[] = [];

  /** `keepMs`: how far before the newest start the log reaches (two of the longest measurement window). */
  constructor(options: { keepMs: number }) {
    this.#keepMs = options.keepMs;
  }

  /** An accepted call, by its start time (recorded when its answer arrives). */
  note(startedAtMs: number): void {
    this.#startsMs.push(startedAtMs);
    this.#prune();
  }

  /** Accepted calls that started in (fromMs, toMs]. */
  count(fromMs: number, toMs: number): number {
    let n = 0;
    for (const t of this.#startsMs) if (t > fromMs && t <= toMs) n++;
    return n;
  }

  /**
   * The most accepted calls in one `windowMs` ending in (`endMs` − `windowMs`, `endMs`]: the windows that
   * end at an accepted start, and the one that ends at `endMs` (the unpaced measurement: learnedPace.ts).
   */
  fullestWindow(endMs: number, windowMs: number): number {
    let accepted = 0;
    for (const windowEndMs of this.#startsMs) {
      if (windowEndMs <= endMs - windowMs || windowEndMs > endMs) continue;
      accepted = Math.max(accepted, this.count(windowEndMs - windowMs, windowEndMs));
    }
    return Math.max(accepted, this.count(endMs - windowMs, endMs));
  }

  #prune(): void {
    const newest = this.#startsMs[this.#startsMs.length - 1] ?? 0;
    const keepFrom = newest - this.#keepMs;
    let drop = 0;
    while (drop < this.#startsMs.length && this.#startsMs[drop] < keepFrom) drop++;
    if (drop > 0) this.#startsMs.splice(0, drop);
  }
}

/**
 * The sliding window of paced starts: at most ceil(rate) calls start in any span of `windowMs` +
 * `windowGuardMs` (see that limiter option), on top of the spacing.
 */
export class StartWindow {
  readonly #windowMs: number;
  readonly #spanMs: number;
  /** Start times of the calls started in the last `windowMs + windowGuardMs`, oldest first (paced only). */
  readonly #startsMs: number[] = [];

  /** `windowMs`, `windowGuardMs`: the limiter options of those names (limiterTypes.ts). */
  constructor(options: { windowMs: number; windowGuardMs: number }) {
    this.#windowMs = options.windowMs;
    this.#spanMs = options.windowMs + options.windowGuardMs;
  }

  /** A paced call started at `nowMs`. */
  note(nowMs: number): void {
    this.#startsMs.push(nowMs);
  }

  /**
   * When the window admits one more start at `ratePerSecond`; `now` when it does already. Unpaced
   * (`ratePerSecond` infinite) the window is emptied: it counts paced starts only.
   */
  freeAtMs(now: number, ratePerSecond: number): number {
    if (!Number.isFinite(ratePerSecond)) {
      this.#startsMs.length = 0;
      return now;
    }
    let drop = 0;
    while (drop < this.#startsMs.length && this.#startsMs[drop] <= now - this.#spanMs) drop++;
    if (drop > 0) this.#startsMs.splice(0, drop);
    const mostPerWindow = Math.max(1, Math.ceil((ratePerSecond * this.#windowMs) / 1000 - 1e-9));
    const count = this.#startsMs.length;
    return count < mostPerWindow ? now : this.#startsMs[count - mostPerWindow] + this.#spanMs;
  }
}
