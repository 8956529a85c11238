/**
 * Preload (`NODE_OPTIONS=--require <this file>`) that CPU-profiles the process it is loaded into and
 * writes `<dir>/host-<pid>.cpuprofile` when the process exits. `node --cpu-prof` is not allowed in
 * NODE_OPTIONS, and the local host forks its child with an empty execArgv; this gets the same profile
 * (open it in Chrome DevTools or summarise it with bench/lib/cpuProfileSummary.ts).
 *
 * The folder comes from `BENCH_CPU_PROFILE_DIR`; the sampling interval from
 * `BENCH_CPU_PROFILE_INTERVAL_US` (default 1000 µs).
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
  let written = false;
  const write = (): void => {
    if (written) return;
    written = true;
    // An in-process inspector session answers synchronously, so this works inside 'exit'.
    session.post('Profiler.stop', (error, result) => {
      if (error || !result) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `host-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  process.on('exit', write);
}
