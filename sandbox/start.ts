/**
 * `npm start`: runs the whole product offline. Builds are done by the npm script; this starts Azurite,
 * the stand-ins and the local Functions host, prints one line per endpoint and a final `ready` line,
 * and stops everything on Ctrl-C.
 *
 * Environment (docs/sandbox.md, "npm start"):
 * - any app setting, e.g. `CALLBACK_ALLOW_PRIVATE_TARGETS=false`: wins over the sandbox's own choice;
 *   the names that did are printed (never the values);
 * - `SANDBOX_FREE_PORTS=1`: free ports instead of 7071/7081-7083 and 10000-10002;
 * - `SANDBOX_STATE_DIR=<folder>`: where the CA, endpoints.json and local.settings.json go (default `.sandbox`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startSandbox } from './sandbox';

/** The variables this launcher reads itself (not app settings). */
const LAUNCHER_ENV = { freePorts: 'SANDBOX_FREE_PORTS', stateDir: 'SANDBOX_STATE_DIR' } as const;

async function main(): Promise<void> {
  const appDir = findAppDir();
  const freePorts = process.env[LAUNCHER_ENV.freePorts] === '1';
  const stateDir = path.resolve(appDir, process.env[LAUNCHER_ENV.stateDir] || '.sandbox');
  console.log(
    'Starting the co-sell referral bridge sandbox (Azurite, Partner Center, Entra, Key Vault, Functions host)...',
  );
  const sandbox = await startSandbox({ appDir, stateDir, freePorts, quiet: false, environment: process.env });
  const e = sandbox.endpoints;
  const lines: Array<[string, string]> = [
    ['Functions API', e.functions],
    ['  POST', `${e.functions}/referrals`],
    ['  POST', `${e.functions}/referrals/validate`],
    ['  GET', `${e.functions}/referrals/{trackingId}`],
    ['  GET', `${e.functions}/health`],
    ['Partner Center simulator', e.partnerCenterOrigin],
    ['  referrals', e.partnerCenter],
    ['  inspect', e.partnerCenterInspect],
    ['  events registered to', e.partnerCenterEvents || '(none)'],
    ['  events signing cert (TLS)', e.eventsCertificate],
    ['  inspect events', `${sandbox.partnerCenter.url}/_sandbox/events`],
    ['Entra token endpoint (TLS)', e.entra],
    ['Key Vault (TLS)', e.keyVault],
    ['Azurite queues', e.queue],
    ['Azurite tables', e.table],
    ['Sandbox CA certificate', e.caCertificate],
  ];
  for (const [name, url] of lines) console.log(`${name.padEnd(28)} ${url}`);
  if (sandbox.environmentOverrides.length > 0)
    console.log(`${'From your environment'.padEnd(28)} ${sandbox.environmentOverrides.join(', ')}`);
  console.log(`Endpoints written to ${path.join(stateDir, 'endpoints.json')}`);
  console.log('Sandbox ready. Press Ctrl-C to stop.');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the sandbox...`);
    await sandbox.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** The repository root: the folder with package.json above this file (works from dist/ too). */
function findAppDir(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'host.json'))) return dir;
  }
  return process.cwd();
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`The sandbox could not start: ${message}`);
  if (/EADDRINUSE/.test(message))
    console.error('A port is in use. Stop the other process, or run: SANDBOX_FREE_PORTS=1 npm start');
  process.exit(1);
});
