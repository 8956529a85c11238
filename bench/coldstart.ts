/**
 * Benchmark: cold start of the app's function modules.
 *
 * In fresh child processes, times loading every function module (the built files package.json `main`
 * matches, `@azure/functions-core` stubbed as the local host does so the registrations run) against
 * loading bare `@azure/functions`, alternating the two, `--runs` times each (default 5). Prints the
 * medians and their ratio as one JSON object on the last line; one more traced app run names the
 * requires of the app's own files that cost most.
 *
 * `npm run bench:coldstart [-- --runs 5]` (builds, then runs dist/bench/coldstart.js).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseOptions } from './lib/args';
import { repoRoot } from './lib/repo';
import { median, round } from './lib/stats';
import type { ProbeResult } from './lib/coldstartProbe';

/** The figures printed on the last line. */
export interface ColdstartFigures {
  benchmark: 'coldstart';
  runs: number;
  appMedianMs: number;
  bareMedianMs: number;
  /** appMedianMs / bareMedianMs (target ≤ 1.5). */
  ratio: number;
  /** The same ratio in process CPU time (medians): less moved by other processes on a shared machine. */
  cpuRatio: number;
  appCpuMedianMs: number;
  bareCpuMedianMs: number;
  appRunsMs: number[];
  bareRunsMs: number[];
  functionsRegistered: number;
  appModulesLoaded: number;
  /** The app's own files the cold start loaded (under dist/): the bundle and the shared/ modules it needs at load. */
  appFilesLoaded: string[];
  bareModulesLoaded: number;
  /** The slowest requires made by the app's own files (inclusive), from one traced run. */
  heaviestImports: Array<{ request: string; from: string; ms: number }>;
}

/** Environment of the probes: no telemetry exporters configured, as in the sandbox. */
function probeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.APPLICATIONINSIGHTS_CONNECTION_STRING;
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs one probe in a fresh `node` process and returns its result. */
export function runProbe(mode: 'app' | 'bare', options: { trace?: boolean } = {}): ProbeResult {
  const root = repoRoot();
  const script = path.join(root, 'dist', 'bench', 'lib', 'coldstartProbe.js');
  const args = [script, '--mode', mode, ...(options.trace ? ['--trace'] : [])];
  const output = execFileSync(process.execPath, args, { cwd: root, env: probeEnv(), encoding: 'utf8' });
  const last = output.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as ProbeResult;
}

/** Runs the benchmark and returns its figures. */
export function measureColdstart(options: { runs: number }): ColdstartFigures {
  const app: ProbeResult[] = [];
  const bare: ProbeResult[] = [];
  // One unmeasured pair warms the file system cache.
  runProbe('bare');
  runProbe('app');
  for (let i = 0; i < options.runs; i++) {
    bare.push(runProbe('bare'));
    app.push(runProbe('app'));
  }
  const traced = runProbe('app', { trace: true });
  const appMedianMs = median(app.map((r) => r.loadMs));
  const bareMedianMs = median(bare.map((r) => r.loadMs));
  const appCpuMedianMs = median(app.map((r) => r.cpuMs));
  const bareCpuMedianMs = median(bare.map((r) => r.cpuMs));
  return {
    benchmark: 'coldstart',
    runs: options.runs,
    appMedianMs: round(appMedianMs),
    bareMedianMs: round(bareMedianMs),
    ratio: round(appMedianMs / bareMedianMs),
    cpuRatio: round(appCpuMedianMs / bareCpuMedianMs),
    appCpuMedianMs: round(appCpuMedianMs),
    bareCpuMedianMs: round(bareCpuMedianMs),
    appRunsMs: app.map((r) => round(r.loadMs)),
    bareRunsMs: bare.map((r) => round(r.loadMs)),
    functionsRegistered: app[0]?.functionsRegistered ?? 0,
    appModulesLoaded: app[0]?.modulesLoaded ?? 0,
    appFilesLoaded: app[0]?.appFilesLoaded ?? [],
    bareModulesLoaded: bare[0]?.modulesLoaded ?? 0,
    heaviestImports: (traced.imports ?? []).slice(0, 12).map((r) => ({ ...r, ms: round(r.ms) })),
  };
}

function main(): void {
  const options = parseOptions({ runs: { kind: 'number', default: 5, min: 1 } });
  const figures = measureColdstart(options);
  for (const line of [
    `function modules: median ${figures.appMedianMs} ms over ${figures.runs} runs (${figures.appRunsMs.join(', ')})`,
    `bare @azure/functions: median ${figures.bareMedianMs} ms (${figures.bareRunsMs.join(', ')})`,
    `ratio ${figures.ratio} (target ≤ 1.5); in CPU time ${figures.cpuRatio} (app ${figures.appCpuMedianMs} ms, bare ${figures.bareCpuMedianMs} ms)`,
  ])
    console.log(line);
  console.log(JSON.stringify(figures));
}

if (require.main === module) main();
