/**
 * Progress of the submission on stderr: a bar on a terminal (cli-progress: rows done/total, rate, ETA,
 * refused so far), plain lines every `intervalMs` otherwise (CI logs, pipes), or nothing.
 */
import { Presets, SingleBar } from 'cli-progress';

/** How progress is shown. */
export const ProgressMode = { bar: 'bar', lines: 'lines', none: 'none' } as const;
export type ProgressMode = (typeof ProgressMode)[keyof typeof ProgressMode];

/** Counts shown by the progress display. */
export interface ProgressCounts {
  done: number;
  refused: number;
}

/** A progress display. */
export interface ProgressReporter {
  update(counts: ProgressCounts): void;
  /** Ends the display (the bar is left at its last state; plain mode prints a last line). */
  stop(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  total: number;
  mode: ProgressMode;
  stream: NodeJS.WritableStream;
  /** Plain mode: at most one line per interval. @default 5000 */
  intervalMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** `0.4 s`, `12 s`, `3 min 5 s`, `1 h 2 min`. */
export function formatDuration(ms: number): string {
  if (ms < 9950) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Rows per second, one decimal. */
export function formatRate(rows: number, elapsedMs: number): string {
  return elapsedMs > 0 ? (rows / (elapsedMs / 1000)).toFixed(1) : '0.0';
}

/** The progress display for `mode`. */
export function createProgress(options: ProgressOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  const startedMs = now();
  const { total } = options;
  const figures = (counts: ProgressCounts) => {
    const elapsedMs = now() - startedMs;
    const perMs = elapsedMs > 0 ? counts.done / elapsedMs : 0;
    const eta = counts.done >= total ? '0 s' : perMs > 0 ? formatDuration((total - counts.done) / perMs) : '?';
    return { rate: formatRate(counts.done, elapsedMs), eta, refused: counts.refused };
  };
  if (options.mode === ProgressMode.none) return { update: () => undefined, stop: () => undefined };
  if (options.mode === ProgressMode.bar) {
    const bar = new SingleBar(
      {
        format: 'import |{bar}| {value}/{total} rows | {rate} rows/s | ETA {etaText} | refused {refused}',
        stream: options.stream,
        hideCursor: true,
        fps: 10,
        noTTYOutput: false,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { ...figures({ done: 0, refused: 0 }), etaText: '?' });
    return {
      update: (counts) => {
        const f = figures(counts);
        bar.update(counts.done, { rate: f.rate, etaText: f.eta, refused: f.refused });
      },
      stop: () => bar.stop(),
    };
  }
  const intervalMs = options.intervalMs ?? 5000;
  let lastPrintMs = startedMs;
  let last: ProgressCounts = { done: 0, refused: 0 };
  const print = (counts: ProgressCounts) => {
    const f = figures(counts);
    const percent = total > 0 ? Math.floor((counts.done / total) * 100) : 100;
    options.stream.write(
      `progress: ${counts.done}/${total} rows (${percent} %), ${f.rate} rows/s, ETA ${f.eta}, ${f.refused} refused\n`,
    );
  };
  return {
    update: (counts) => {
      last = counts;
      if (now() - lastPrintMs >= intervalMs) {
        lastPrintMs = now();
        print(counts);
      }
    },
    stop: () => print(last),
  };
}
