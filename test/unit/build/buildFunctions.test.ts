/**
 * scripts/build-functions.ts: the function modules in one bundle, shared/ required from the tsc-built
 * files (one instance, lazy loads still lazy), and a build that fails on what would break from dist/bundle.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  buildFunctions,
  functionEntryFiles,
  INLINED_SHARED_MODULES,
  statelessLeafProblem,
} from '../../../scripts/build-functions';

const REPO = path.resolve(__dirname, '../../..');

/** A checkout with `files` (path → text) and shared/platform/lazy.ts copied from the repository. */
function fixtureApp(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'bundle-fixture-'));
  mkdirSync(path.join(root, 'shared', 'platform'), { recursive: true });
  cpSync(path.join(REPO, 'shared', 'platform', 'lazy.ts'), path.join(root, 'shared', 'platform', 'lazy.ts'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

/** Runs `script` with node in `root` and returns what it printed. */
function runNode(root: string, script: string): string {
  return execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }).trim();
}

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A stateful shared module as tsc would compile it into dist/shared. */
const COUNTER_JS = `"use strict";
let count = 0;
exports.next = () => ++count;
`;

describe('the functions bundle', () => {
  const root = fixtureApp({
    'functions/b.ts': [
      "import { next } from '../shared/counter';",
      "import { lazy } from '../shared/platform/lazy';",
      "import type * as Later from '../shared/later';",
      '(globalThis as { order?: string[] }).order = [...((globalThis as { order?: string[] }).order ?? []), `b${next()}`];',
      "const later = lazy(() => require('../shared/later') as typeof Later);",
      '(globalThis as { later?: () => unknown }).later = later;',
    ].join('\n'),
    'functions/a.ts': [
      "import { next } from '../shared/counter';",
      "import { helper } from './edge/helper';",
      '(globalThis as { order?: string[] }).order = [...((globalThis as { order?: string[] }).order ?? []), `a${next()}${helper()}`];',
    ].join('\n'),
    'functions/edge/helper.ts': "export const helper = (): string => '+edge';\n",
    'shared/counter.ts': 'let count = 0;\nexport const next = (): number => ++count;\n',
    'shared/later.ts': 'export const value = 42;\n',
    'dist/shared/counter.js': COUNTER_JS,
    'dist/shared/later.js': '"use strict";\nglobalThis.laterLoaded = true;\nexports.value = 42;\n',
  });
  roots.push(root);

  beforeAll(async () => {
    await buildFunctions({ root, sourcemap: true });
  });

  it('loads every function module, in the sorted order the worker loaded the files, from one file', () => {
    expect(functionEntryFiles(root)).toEqual(['a.ts', 'b.ts']);
    const printed = runNode(root, "require('./dist/bundle/functions.js'); console.log(globalThis.order.join(','))");
    expect(printed).toBe('a1+edge,b2');
  });

  it('shares one instance of each shared/ module with what requires it from dist/shared', () => {
    const printed = runNode(
      root,
      "require('./dist/bundle/functions.js'); console.log(require('./dist/shared/counter.js').next())",
    );
    // a and b counted 1 and 2 through the bundle's require; the direct require sees the same counter.
    expect(printed).toBe('3');
  });

  it('still loads a literal lazy require on first call only', () => {
    const printed = runNode(
      root,
      [
        "require('./dist/bundle/functions.js');",
        'const before = globalThis.laterLoaded === true;',
        'const value = globalThis.later().value;',
        'console.log(JSON.stringify({ before, after: globalThis.laterLoaded === true, value }));',
      ].join(' '),
    );
    expect(JSON.parse(printed)).toEqual({ before: false, after: true, value: 42 });
  });

  it('copies the listed stateless leaf modules in and requires every other shared/ module', () => {
    const bundle = readFileSync(path.join(root, 'dist', 'bundle', 'functions.js'), 'utf8');
    expect(bundle).toContain('require("../shared/counter.js")');
    expect(bundle).toContain('require("../shared/later.js")');
    expect(bundle).not.toContain('shared/platform/lazy.js');
    expect(bundle).toMatch(/^\/\/ .*shared\/platform\/lazy\.ts$/m);
  });

  it('writes a source map naming the TypeScript sources', () => {
    const map = JSON.parse(readFileSync(path.join(root, 'dist', 'bundle', 'functions.js.map'), 'utf8')) as {
      sources: string[];
    };
    expect(map.sources).toEqual(
      expect.arrayContaining(['../../functions/a.ts', '../../functions/b.ts', '../../functions/edge/helper.ts']),
    );
  });
});

describe('a build that would break from dist/bundle', () => {
  async function buildError(files: Record<string, string>): Promise<string> {
    const root = fixtureApp(files);
    roots.push(root);
    try {
      await buildFunctions({ root });
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('the build passed');
  }

  it('fails on lazyModule(require, id) with a relative id in functions/', async () => {
    const message = await buildError({
      'functions/a.ts':
        "import { lazyModule } from '../shared/platform/lazy';\nexport const x = lazyModule(require, '../shared/later');\n",
      'shared/later.ts': 'export const value = 1;\n',
    });
    expect(message).toContain('lazyModule(require');
    expect(message).toContain('functions/a.ts');
  });

  it('fails on a require whose id is a variable', async () => {
    const message = await buildError({
      'functions/a.ts': "const id = '../shared/later';\n// eslint-disable-next-line\nexport const x = require(id);\n",
    });
    expect(message).toContain('the argument is not a string literal');
  });

  it('fails on an import from outside functions/ and shared/', async () => {
    const message = await buildError({
      'functions/a.ts': "import { y } from '../sandbox/thing';\nexport const x = y;\n",
      'sandbox/thing.ts': 'export const y = 1;\n',
    });
    expect(message).toContain('functions/ and shared/ only');
  });

  it('fails when a module listed as a stateless leaf holds state', async () => {
    const message = await buildError({
      'functions/a.ts': "import { lazy } from '../shared/platform/lazy';\nexport const x = lazy(() => 1);\n",
      'shared/platform/lazy.ts': 'let calls = 0;\nexport const lazy = <T>(f: () => T) => () => (calls++, f());\n',
    });
    expect(message).toContain('shared/platform/lazy.ts is in INLINED_SHARED_MODULES');
  });

  it('accepts optionalModule(require, <package>): a package id resolves from anywhere', async () => {
    const root = fixtureApp({
      'functions/a.ts':
        "import { optionalModule } from '../shared/platform/lazy';\nexport const core = optionalModule(require, '@azure/functions-core');\n",
    });
    roots.push(root);
    await expect(buildFunctions({ root })).resolves.toContain('functions.js');
  });
});

describe('statelessLeafProblem', () => {
  it.each(INLINED_SHARED_MODULES)('passes %s as it is in the repository', (file) => {
    expect(statelessLeafProblem(readFileSync(path.join(REPO, file), 'utf8'))).toBeUndefined();
  });

  it.each([
    ["import { x } from './x';\nexport const y = x;\n", 'it imports a module'],
    ["const x = require('./x');\n", 'it imports a module'],
    ['export let count = 0;\n', 'it declares a top-level let, var or class'],
    ['class Cache {}\nexport const cache = new Cache();\n', 'it declares a top-level let, var or class'],
    ["export * from './x';\n", 'it re-exports a module'],
  ])('refuses %j', (source, reason) => {
    expect(statelessLeafProblem(source)).toBe(reason);
  });

  it('does not count imports shown in comments', () => {
    expect(
      statelessLeafProblem(
        "/**\n * import { x } from './x';\n * require('./x')\n */\n// let y = 1;\nexport const A = 'http://a';\n",
      ),
    ).toBeUndefined();
  });

  it('lets type imports, constants and functions through', () => {
    expect(
      statelessLeafProblem(
        "import type { X } from './x';\nexport const A = 'a';\nexport function f(x: X) { return x; }\n",
      ),
    ).toBeUndefined();
  });
});
