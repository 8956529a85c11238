/**
 * The child process of bench/coldstart.ts: loads either every function module of the app (the built
 * files package.json `main` matches, with `@azure/functions-core` served by the local host's stand-in
 * so the `app.*` registrations run) or bare `@azure/functions`, and prints one JSON line with the time
 * it took. With `--trace` it also records the inclusive time of every `require` made by the app's own
 * files, to show which imports cost most.
 *
 * Usage (from the repository root, after `npm run build`):
 * `node dist/bench/lib/coldstartProbe.js --mode app|bare [--trace]`
 */
import Module from 'node:module';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import fg from 'fast-glob';
import { FunctionsCore } from '../../sandbox/host/functionsCore';
import { parseOptions } from './args';
import { repoRoot } from './repo';

/** What the probe prints. */
export interface ProbeResult {
  mode: 'app' | 'bare';
  /** Time to load the modules, from the first require to the last. */
  loadMs: number;
  /** CPU time of the process (all its threads) over the same span: steadier than loadMs on a busy machine. */
  cpuMs: number;
  /** Modules added to the require cache while loading. */
  modulesLoaded: number;
  /** Functions registered (app mode). */
  functionsRegistered: number;
  /** Their names, sorted (app mode). */
  functionNames: string[];
  /** The app's own files (under dist/, relative to it) loaded by then, sorted: what the cold start read. */
  appFilesLoaded: string[];
  /** With --trace: the slowest requires made by the app's files, inclusive of what they load. */
  imports?: Array<{ request: string; from: string; ms: number }>;
}

/** The app's entry points: the files package.json `main` matches, sorted, as the worker loads them. */
export function appEntryPoints(root: string): string[] {
  const main = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string }).main;
  return fg
    .sync(main, { cwd: root, onlyFiles: true })
    .sort()
    .map((relative) => path.join(root, relative));
}

type LoadFn = (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown;

function traceRequires(appDist: string): { stop(): Array<{ request: string; from: string; ms: number }> } {
  const moduleInternals = Module as unknown as { _load: LoadFn };
  const original = moduleInternals._load;
  const records: Array<{ request: string; from: string; ms: number }> = [];
  moduleInternals._load = function traced(request, parent, isMain) {
    const from = parent?.filename ?? '';
    const fromApp = from.startsWith(appDist) && !from.includes(`${path.sep}node_modules${path.sep}`);
    if (!fromApp) return original.call(this, request, parent, isMain);
    const started = process.hrtime.bigint();
    try {
      return original.call(this, request, parent, isMain);
    } finally {
      records.push({
        request,
        from: path.relative(appDist, from),
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    }
  };
  return {
    stop() {
      moduleInternals._load = original;
      return records;
    },
  };
}

function main(): void {
  const options = parseOptions({ mode: { kind: 'string', default: 'app' }, trace: { kind: 'boolean' } });
  if (options.mode !== 'app' && options.mode !== 'bare') throw new Error('--mode must be app or bare');
  const root = repoRoot();
  const entryPoints = options.mode === 'app' ? appEntryPoints(root) : [];
  const core = new FunctionsCore();
  core.install();
  const tracer = options.trace ? traceRequires(path.join(root, 'dist')) : undefined;
  const cachedBefore = Object.keys(require.cache).length;
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  // The probe measures what a synchronous module load costs, as the Functions worker loads the app: a
  // dynamic import() would measure something else.
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (options.mode === 'bare') {
    require('@azure/functions');
  } else {
    for (const file of entryPoints) require(file);
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  const imports = tracer?.stop();
  const appDist = path.join(root, 'dist') + path.sep;
  const appFilesLoaded = Object.keys(require.cache)
    .filter((file) => file.startsWith(appDist) && !file.includes(`${path.sep}node_modules${path.sep}`))
    .map((file) => path.relative(appDist, file).split(path.sep).join('/'))
    .filter((file) => !file.startsWith('bench/') && !file.startsWith('sandbox/'))
    .sort();
  const result: ProbeResult = {
    mode: options.mode,
    loadMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    modulesLoaded: Object.keys(require.cache).length - cachedBefore,
    functionsRegistered: core.functions.size,
    functionNames: [...core.functions.values()].map((fn) => fn.name).sort(),
    appFilesLoaded,
    ...(imports ? { imports: imports.sort((a, b) => b.ms - a.ms) } : {}),
  };
  console.log(JSON.stringify(result));
}

if (require.main === module) main();
