/**
 * Preload (`NODE_OPTIONS=--require <this file>`) that CPU-profiles the process it is loaded into and
 * writes `<dir>/host-<pid>.cpuprofile` when the process exits. `node --cpu-prof` is not allowed in
 * NODE_OPTIONS, and the local host forks its child with an empty execArgv; this gets the same profile
 * (open it in Chrome DevTools or summarise it with bench/lib/cpuProfileSummary.ts).
 *
 * The folder comes from `BENCH_CPU_PROFILE_DIR`; the sampling interval from
 * `BENCH_CPU_PROFILE_INTERVAL_US` (default 1000 µs). `SIGUSR2` ends the current segment and starts the
 * next: segment K is written as `host-<pid>-<K>.cpuprofile` (bench:pipeline marks its measured run so).
 */
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROFILE_INTERVAL_US ?? 1000) });
  session.post('Profiler.start');
  let segment = 0;
  let written = false;
  const writeSegment = (): void => {
    // An in-process inspector session answers synchronously, so this works inside 'exit'.
    session.post('Profiler.stop', (error, result) => {
      if (error || !result) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `host-${process.pid}-${segment}.cpuprofile`), JSON.stringify(result.profile));
    });
    segment += 1;
  };
  process.on('SIGUSR2', () => {
    if (written) return;
    writeSegment();
    session.post('Profiler.start');
  });
  process.on('exit', () => {
    if (written) return;
    written = true;
    writeSegment();
  });
}
