/**
 * The built app as the Functions worker loads it: package.json `main` (the functions bundle) registers
 * every function the sources declare, from one file, and the cold start leaves the composition and the
 * use cases unloaded. Needs `npm run build` (it loads dist/ through bench/lib/coldstartProbe.ts, the
 * local host's `@azure/functions-core` stand-in installed).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runProbe } from '../../../bench/coldstart';
import type { ProbeResult } from '../../../bench/lib/coldstartProbe';

const REPO = path.resolve(__dirname, '../../..');
const FUNCTIONS_DIR = path.join(REPO, 'functions');

/** The function files (what the worker loaded one by one before the bundle). */
const functionFiles = readdirSync(FUNCTIONS_DIR)
  .filter((name) => name.endsWith('.ts'))
  .sort();

/** Every `app.<trigger>('name', …)` registration written in functions/*.ts. */
function declaredFunctionNames(): string[] {
  const names: string[] = [];
  for (const file of functionFiles) {
    const source = readFileSync(path.join(FUNCTIONS_DIR, file), 'utf8');
    for (const match of source.matchAll(/\bapp\.(\w+)\(\s*'([^']+)'/g)) names.push(match[2]);
  }
  return names.sort();
}

let probe: ProbeResult;
beforeAll(() => {
  probe = runProbe('app');
});

describe('package.json main', () => {
  it('registers every function declared in functions/*.ts, each once', () => {
    const declared = declaredFunctionNames();
    expect(declared.length).toBeGreaterThanOrEqual(functionFiles.length - 1);
    expect(probe.functionNames).toEqual(declared);
    expect(probe.functionsRegistered).toBe(declared.length);
  });

  it('is the bundle: one app file for all the function modules, none of dist/functions', () => {
    const main = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { main: string }).main;
    expect(main).toBe('dist/bundle/functions.js');
    expect(probe.appFilesLoaded).toContain('bundle/functions.js');
    expect(probe.appFilesLoaded.filter((file) => file.startsWith('functions/'))).toEqual([]);
  });

  it('bundles every file of functions/ (its source map names each one)', () => {
    const map = JSON.parse(readFileSync(path.join(REPO, 'dist', 'bundle', 'functions.js.map'), 'utf8')) as {
      sources: string[];
    };
    const bundled = map.sources.map((source) => path.resolve(REPO, 'dist', 'bundle', source));
    for (const file of functionFiles) expect(bundled).toContain(path.join(FUNCTIONS_DIR, file));
  });

  it('keeps the lazy loads lazy: no composition, configuration or use case is loaded at cold start', () => {
    expect(probe.appFilesLoaded).not.toContain('shared/app/composition.js');
    expect(probe.appFilesLoaded).not.toContain('shared/platform/config.js');
    expect(probe.appFilesLoaded.filter((file) => file.startsWith('shared/workflow/'))).toEqual([]);
  });
});
