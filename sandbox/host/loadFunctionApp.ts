/**
 * Loads a v4 function app the way the Node.js worker does (`src/startApp.ts`): read package.json
 * `main`, expand it as a glob relative to the app directory, load each file in order (their
 * `app.*` calls register through {@link FunctionsCore}), run the `appStart` hooks, ask the
 * programming model for its capabilities, and close registration.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fg from 'fast-glob';
import { LocalHostError } from './errors';
import type { FunctionsCore } from './functionsCore';

/** What loading found. */
export interface LoadedApp {
  /** The `main` pattern of package.json. */
  main: string;
  /** Entry point files, relative to the app directory, in load order. */
  entryPoints: string[];
}

/** A real dynamic import, kept out of TypeScript's CommonJS down-levelling (which would turn it into require). */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fixed source text, no input reaches it
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** Loads the app's entry points into this process; throws {@link LocalHostError} (`appLoad`/`config`). */
export async function loadFunctionApp(appDir: string, core: FunctionsCore): Promise<LoadedApp> {
  const packageFile = path.join(appDir, 'package.json');
  let packageJson: { main?: unknown; type?: unknown };
  try {
    packageJson = JSON.parse(await readFile(packageFile, 'utf8')) as { main?: unknown; type?: unknown };
  } catch (error) {
    throw new LocalHostError(`Cannot read ${packageFile}: ${(error as Error).message}`, {
      code: 'config',
      subject: packageFile,
      cause: error,
    });
  }
  if (typeof packageJson.main !== 'string' || packageJson.main.trim() === '') {
    throw new LocalHostError(`${packageFile} has no "main": the v4 programming model loads the files it names`, {
      code: 'config',
      subject: packageFile,
    });
  }
  const main = packageJson.main;
  const entryPoints = await fg(main, { cwd: appDir, onlyFiles: true });
  if (entryPoints.length === 0) {
    throw new LocalHostError(
      `Worker was unable to load entry point "${main}": Found zero files matching the supplied pattern (run the build first?)`,
      { code: 'appLoad', subject: main },
    );
  }
  entryPoints.sort();

  core.install();
  const isModulePackage = packageJson.type === 'module';
  for (const relative of entryPoints) {
    const file = path.join(appDir, relative);
    core.currentEntryPoint = relative;
    try {
      if (file.endsWith('.mjs') || (isModulePackage && file.endsWith('.js')))
        await importModule(pathToFileURL(file).href);
      // The app's own entry point, loaded as the Functions worker loads a CommonJS app.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      else require(file);
    } catch (error) {
      throw new LocalHostError(
        `Worker was unable to load entry point "${relative}": ${(error as Error)?.message ?? String(error)}`,
        {
          code: 'appLoad',
          subject: relative,
          cause: error,
        },
      );
    } finally {
      core.currentEntryPoint = undefined;
    }
  }

  await core.executeHooks('appStart', {
    get hookData() {
      return core.appLevelOnlyHookData;
    },
    get appHookData() {
      return core.appHookData;
    },
    functionAppDirectory: appDir,
  } as Parameters<FunctionsCore['executeHooks']>[1]);

  const model = core.programmingModel;
  if (model?.getCapabilities) {
    const capabilities = await model.getCapabilities({});
    if (capabilities && 'HttpUri' in capabilities) {
      throw new LocalHostError(
        'The app enables HTTP streaming (app.setup({ enableHttpStream: true })); the local host does not support it',
        {
          code: 'appLoad',
          subject: 'enableHttpStream',
        },
      );
    }
  }
  core.finishStartup();
  return { main, entryPoints };
}
