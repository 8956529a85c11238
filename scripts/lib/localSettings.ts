/**
 * What the command-line scripts (auth:consent, events:register, replay:poison) share to read the app's
 * settings the way the local Functions host does: local.settings.json's `Values`, the environment, and the
 * sandbox CA it names.
 */
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';

/** `Values` of a local.settings.json, or nothing when the file is absent. */
export function readLocalSettings(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(parsed.Values ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

/** The entries of an environment that hold a value (unset and empty ones dropped). */
export function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
}

/**
 * NODE_EXTRA_CA_CERTS only works when set before Node starts: a CA named only in local.settings.json
 * (the sandbox's) is trusted through an agent instead, on top of the public roots. An environment
 * that sets NODE_EXTRA_CA_CERTS to another file (a corporate bundle) does not make the file's CA trusted,
 * so only the same file in both places skips the agent.
 */
export function agentForExtraCa(
  fromFile: string | undefined,
  fromEnv: string | undefined,
  baseDirs: readonly string[],
): https.Agent | undefined {
  if (!fromFile) return undefined;
  const caPath = baseDirs.map((dir) => path.resolve(dir, fromFile)).find((candidate) => existsSync(candidate));
  if (!caPath || (fromEnv && path.resolve(fromEnv) === caPath)) return undefined;
  return new https.Agent({ ca: [...tls.rootCertificates, readFileSync(caPath, 'utf8')] });
}
