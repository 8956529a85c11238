import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The clock the tracking-record store is built with, so that a record's `createdAtEpochMs` is the instant
 * its index entry was written under (the entry is written before the record, see indexedTrackingRecords.ts).
 *
 * Inside {@link CreationClock.run} it answers the pinned instant; everywhere else the base clock. The pin
 * follows the async call (AsyncLocalStorage), so concurrent creates each see their own instant.
 */
export class CreationClock {
  readonly #pinned = new AsyncLocalStorage<number>();
  readonly #baseNowMs: () => number;

  constructor(baseNowMs: () => number = Date.now) {
    this.#baseNowMs = baseNowMs;
  }

  /** The current instant, or the pinned one inside {@link run}. Pass this to the record store. */
  readonly nowMs = (): number => this.#pinned.getStore() ?? this.#baseNowMs();

  /** An instant from the base clock (never a pinned one). */
  freshNowMs(): number {
    return this.#baseNowMs();
  }

  /** Runs `work` with the clock pinned to `epochMs`. */
  run<T>(epochMs: number, work: () => Promise<T>): Promise<T> {
    return this.#pinned.run(epochMs, work);
  }
}
