/**
 * `node dist/scripts/build-functions.js` (run by `npm run build` after tsc): bundles every function module
 * (functions/*.ts and functions/edge/) with esbuild into one file, dist/bundle/functions.js, the file
 * package.json `main` names. The Functions worker then loads one module instead of one per function file
 * (each cost ≈ 0.3 ms to resolve, read and compile; bench:coldstart).
 *
 * What goes in and what stays out:
 * - functions/**: bundled, in the order the worker used to load them (file names sorted), so the `app.*`
 *   registrations run in the same order as they did from `dist/functions/*.js`.
 * - shared/**: NOT bundled. Every import of a shared/ module stays a `require` of the module tsc compiled
 *   into dist/shared, by a path valid from dist/bundle, so there is one instance of each shared/ module
 *   whichever way it is reached: the composition cache stays a singleton, `instanceof BridgeError` holds
 *   for errors thrown by lazily loaded modules, `__dirname` is still the module's own folder (console
 *   assets, package.json version), and shared/ keeps lazy-loading with `lazyModule(require, id)`.
 *   Bundling shared/ as well was measured and is slower: its lazily required code (≈ 540 KB) would be
 *   read and compiled at every cold start even though it is evaluated only on first use.
 * - The exception, {@link INLINED_SHARED_MODULES}: a few leaf modules the registrations need at load
 *   (queue names, timer schedules, `lazy`, `problem`), copied into the bundle to save their ≈ 0.2-0.5 ms
 *   each. A copy is a second instance, harmless only for a module without state: the build fails unless
 *   each one imports nothing (type imports aside) and declares no top-level `let`, `var` or `class`.
 * - packages (node_modules): not bundled, required as before.
 * - A `require`/`import()` in functions/ must name its module literally (`lazy(() => require('../shared/x'))`):
 *   a require whose id is a variable, or `require` passed as a value (`lazyModule(require, id)`), would be
 *   resolved from dist/bundle at run time and miss. The build fails on either.
 *
 * `--dist DIR` writes DIR/bundle/functions.js for a DIR/shared compiled elsewhere (infra/hooks/stage-package.sh);
 * `--no-sourcemap` leaves the source map out (the deployment package).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

/** The checkout (functions/ and shared/ sources); FUNCTIONS_REPO_ROOT when the script was compiled elsewhere. */
const ROOT = process.env.FUNCTIONS_REPO_ROOT ?? path.resolve(__dirname, '../..');
/** The folder of the bundle under the dist folder, and its file name: package.json `main` is `dist/bundle/functions.js`. */
export const BUNDLE_FOLDER = 'bundle';
/** The bundle's file name. */
export const BUNDLE_FILE = 'functions.js';

/**
 * Stateless leaf modules of shared/ copied into the bundle rather than required (see the file comment):
 * constants and pure functions only, checked at build time by {@link statelessLeafProblem}.
 */
export const INLINED_SHARED_MODULES: readonly string[] = [
  'shared/events/constants.ts',
  'shared/platform/lazy.ts',
  'shared/platform/schedules.ts',
  'shared/referral/problem.ts',
  'shared/workflow/constants.ts',
];

/** Why `source` may not be copied into the bundle (it imports a module or holds state), or undefined. */
export function statelessLeafProblem(text: string): string | undefined {
  // Comments (doc examples) do not count: block comments and whole-line `//` comments are left out.
  const source = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  if (/^\s*import\s+(?!type\b)/m.test(source) || /\brequire\s*\(/.test(source)) return 'it imports a module';
  if (/^(export\s+)?(let|var|class)\b/m.test(source)) return 'it declares a top-level let, var or class';
  if (/^export\s+(\*|\{[^}]*\}\s*from)/m.test(source)) return 'it re-exports a module';
  return undefined;
}

/** Options of {@link buildFunctions}. */
export interface BuildFunctionsOptions {
  /** The checkout holding functions/ and shared/. @default the repository (FUNCTIONS_REPO_ROOT) */
  root?: string;
  /** The dist folder: the bundle goes to `<distDir>/bundle/functions.js`; shared/ is required from `<distDir>/shared`. */
  distDir?: string;
  /** Write `functions.js.map` beside the bundle (stack traces under `--enable-source-maps`). @default true */
  sourcemap?: boolean;
}

/** The function entry points: functions/*.ts (not functions/edge/), sorted as the worker sorts the `main` glob. */
export function functionEntryFiles(root: string = ROOT): string[] {
  return readdirSync(path.join(root, 'functions'))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .sort();
}

/** The error of a build that would not work from dist/bundle. */
export class FunctionsBundleError extends Error {
  /** Never retryable: the sources must change. */
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FunctionsBundleError';
  }
}

/** Keeps shared/ out of the bundle: each import becomes a require of the tsc-compiled file in `<distDir>/shared`. */
function sharedStaysExternal(root: string, outDir: string, distDir: string): Plugin {
  const sharedDir = path.join(root, 'shared') + path.sep;
  const functionsDir = path.join(root, 'functions') + path.sep;
  return {
    name: 'shared-stays-external',
    setup(plugin) {
      plugin.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if (args.pluginData === 'shared-stays-external') return undefined;
        const resolved = await plugin.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'shared-stays-external',
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.path.startsWith(functionsDir)) return undefined;
        if (!resolved.path.startsWith(sharedDir)) {
          const from = path.relative(root, args.importer);
          return {
            errors: [
              { text: `${from} imports ${args.path}: a function module may import functions/ and shared/ only` },
            ],
          };
        }
        const fromRoot = path.relative(root, resolved.path).split(path.sep).join('/');
        if (INLINED_SHARED_MODULES.includes(fromRoot)) {
          const problem = statelessLeafProblem(readFileSync(resolved.path, 'utf8'));
          if (!problem) return { path: resolved.path };
          return {
            errors: [{ text: `${fromRoot} is in INLINED_SHARED_MODULES but ${problem}: take it out of the list` }],
          };
        }
        // The exact compiled file (extension included): no extension probing, and `index` folders resolved.
        const compiled = path.join(distDir, path.relative(root, resolved.path)).replace(/\.ts$/, '.js');
        const relative = path.relative(outDir, compiled).split(path.sep).join('/');
        return { path: relative.startsWith('.') ? relative : `./${relative}`, external: true };
      });
    },
  };
}

/** Fails the build on a `require` that the bundle cannot keep (see the file comment). */
function literalRequiresOnly(root: string): Plugin {
  const functionsDir = path.join(root, 'functions') + path.sep;
  return {
    name: 'literal-requires-only',
    setup(plugin) {
      plugin.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.startsWith(functionsDir)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        // A package id (`optionalModule(require, '@azure/functions-core')`) resolves from anywhere: allowed.
        const passed = [
          ...source.matchAll(/\b(lazyModule|optionalModule)\s*(<[^>]*>)?\s*\(\s*require\s*,\s*([^\s,)]+)/g),
        ].find((match) => !/^['"][^.'"]/.test(match[3] ?? ''));
        if (!passed) return { contents: source, loader: 'ts' };
        const line = source.slice(0, passed.index).split('\n').length;
        return {
          errors: [
            {
              text: `${passed[1]}(require, <relative or variable id>) would resolve the id from dist/${BUNDLE_FOLDER} once bundled: write lazy(() => require('<literal id>') as typeof Module)`,
              location: { file: path.relative(root, args.path), line, column: 0 },
            },
          ],
        };
      });
    },
  };
}

/** Bundles functions/ into `<distDir>/bundle/functions.js`; resolves to the bundle's path. */
export async function buildFunctions(options: BuildFunctionsOptions = {}): Promise<string> {
  const root = options.root ?? ROOT;
  const distDir = options.distDir ?? path.join(root, 'dist');
  const outDir = path.join(distDir, BUNDLE_FOLDER);
  const outfile = path.join(outDir, BUNDLE_FILE);
  const entries = functionEntryFiles(root);
  if (entries.length === 0) throw new FunctionsBundleError(`No function modules in ${path.join(root, 'functions')}`);
  rmSync(outDir, { recursive: true, force: true });
  const result = await build({
    stdin: {
      contents: entries.map((name) => `import './functions/${name.replace(/\.ts$/, '')}';`).join('\n'),
      resolveDir: root,
      sourcefile: 'functions-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    packages: 'external',
    // `import()` as tsc compiles it (a require in a promise): the same module instance as a require of it.
    supported: { 'dynamic-import': false },
    outfile,
    sourcemap: options.sourcemap === false ? false : 'linked',
    sourcesContent: false,
    logLevel: 'silent',
    // A require(id) with a variable id would be resolved from dist/bundle at run time: an error, not a warning.
    // (`require` passed as a value is checked by literalRequiresOnly: with a package id it is fine.)
    logOverride: {
      'unsupported-require-call': 'error',
      'unsupported-dynamic-import': 'error',
    },
    ...(existsSync(path.join(root, 'tsconfig.json')) ? { tsconfig: path.join(root, 'tsconfig.json') } : {}),
    plugins: [literalRequiresOnly(root), sharedStaysExternal(root, outDir, distDir)],
  }).catch((error: unknown) => {
    throw new FunctionsBundleError(`esbuild could not bundle functions/: ${(error as Error).message}`, {
      cause: error,
    });
  });
  if (result.errors.length > 0) throw new FunctionsBundleError(`esbuild reported ${result.errors.length} errors`);
  return outfile;
}

function flagValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
}

if (require.main === module) {
  const dist = flagValue('--dist');
  buildFunctions({
    ...(dist ? { distDir: path.resolve(dist) } : {}),
    sourcemap: !process.argv.includes('--no-sourcemap'),
  }).then(
    (file) => console.log(`functions: ${functionEntryFiles(ROOT).length} modules bundled into ${file}`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
