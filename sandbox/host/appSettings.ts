/**
 * App settings as `func start` reads them: `Values` of local.settings.json in the app directory,
 * merged UNDER the process environment (a variable that is already set wins).
 *
 * When local.settings.json is missing and local.settings.sample.json exists, the sample is copied
 * first (the repository ships the sample; local.settings.json is git-ignored).
 */
import { constants as fsConstants } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalHostError } from './errors';

/** The settings the host will run the app with. */
export interface AppSettings {
  /** `Values` of local.settings.json (empty when there is none). */
  fileValues: Record<string, string>;
  /** fileValues overlaid by the environment: what the app sees. */
  merged: Record<string, string>;
  /** `Host.LocalHttpPort` of local.settings.json, when set. */
  localHttpPort: number | undefined;
  /** True when local.settings.json was just created from the sample. */
  createdFromSample: boolean;
  /** The file the values came from, if any. */
  file: string | undefined;
}

/** Options of {@link loadAppSettings}. */
export interface LoadAppSettingsOptions {
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /**
   * When local.settings.json is missing: `copy` local.settings.sample.json to it (what the host does),
   * or `read` the sample without copying (what the process starting the host needs before the host
   * runs). @default 'copy'
   */
  sample?: 'copy' | 'read';
}

/** Reads local.settings.json of `appDir` and merges it under `env`. */
export async function loadAppSettings(appDir: string, options: LoadAppSettingsOptions = {}): Promise<AppSettings> {
  const env = options.env ?? process.env;
  const file = path.join(appDir, 'local.settings.json');
  const sample = path.join(appDir, 'local.settings.sample.json');
  let createdFromSample = false;
  let text = await readOptional(file);
  if (text === undefined && options.sample === 'read')
    return parseSettings(await readOptional(sample), sample, env, false);
  if (text === undefined) {
    try {
      // COPYFILE_EXCL: two hosts starting at once must not clobber each other's copy.
      await copyFile(sample, file, fsConstants.COPYFILE_EXCL);
      createdFromSample = true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EEXIST')
        throw configError(`Cannot create ${file} from the sample`, file, error);
    }
    text = await readOptional(file);
  }
  return parseSettings(text, file, env, createdFromSample);
}

/** Values (and the local HTTP port) of a settings file's text, merged under `env`. */
function parseSettings(
  text: string | undefined,
  file: string,
  env: Record<string, string | undefined>,
  createdFromSample: boolean,
): AppSettings {
  let fileValues: Record<string, string> = {};
  let localHttpPort: number | undefined;
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw configError(`${file} is not JSON`, file, error);
    }
    const settings = (parsed ?? {}) as { IsEncrypted?: unknown; Values?: unknown; Host?: { LocalHttpPort?: unknown } };
    if (settings.IsEncrypted === true) {
      throw configError(`${file} is encrypted (IsEncrypted: true); the local host reads plain values only`, file);
    }
    const values = settings.Values ?? {};
    if (typeof values !== 'object' || Array.isArray(values))
      throw configError(`${file}: Values must be an object`, file);
    fileValues = Object.fromEntries(
      Object.entries(values as Record<string, unknown>)
        .filter(([, value]) => value !== null && value !== undefined)
        .map(([key, value]) => [key, String(value)]),
    );
    const port = Number(settings.Host?.LocalHttpPort);
    if (Number.isInteger(port) && port > 0 && port < 65536) localHttpPort = port;
  }

  const merged: Record<string, string> = { ...fileValues };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  return { fileValues, merged, localHttpPort, createdFromSample, file: text === undefined ? undefined : file };
}

/** Sets every file value that the environment does not already define into `target` (process.env). */
export function applyAppSettings(
  settings: AppSettings,
  target: Record<string, string | undefined> = process.env,
): void {
  for (const [key, value] of Object.entries(settings.fileValues)) {
    if (target[key] === undefined) target[key] = value;
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw configError(`Cannot read ${file}`, file, error);
  }
}

function configError(message: string, file: string, cause?: unknown): LocalHostError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new LocalHostError(`${message}${detail}`, { code: 'config', subject: file, cause });
}
