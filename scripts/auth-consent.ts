/**
 * `npm run auth:consent` (node dist/scripts/auth-consent.js): the one-time sign-in of the Secure
 * Application Model. Signs in the Partner Center service account with the device code flow and stores
 * the refresh token in Key Vault under KEY_VAULT_REFRESH_TOKEN_SECRET_NAME. Run it again whenever
 * /api/health reports `reauthorization-required` (see docs/auth.md).
 *
 * Settings come from the environment, then from local.settings.json `Values` (the environment wins):
 * ENTRA_AUTHORITY_HOST, ENTRA_TENANT_ID, KEY_VAULT_URL, KEY_VAULT_*_SECRET_NAME, and for Key Vault access
 * whatever DefaultAzureCredential uses (`az login`, or AZURE_TENANT_ID / AZURE_CLIENT_ID /
 * AZURE_CLIENT_SECRET / AZURE_AUTHORITY_HOST for the sandbox). A NODE_EXTRA_CA_CERTS given only in
 * local.settings.json (the sandbox CA) is trusted too. The token is never printed.
 *
 * Usage: node dist/scripts/auth-consent.js [--settings <local.settings.json>] [--public-client]
 */
import path from 'node:path';
import type https from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import { SecretClient } from '@azure/keyvault-secrets';
import { settingsSchema } from '../shared/platform/config';
import { runAuthConsent, type AuthConsentResult } from '../shared/auth/runAuthConsent';
import { createDefaultCredential } from '../shared/auth/defaultCredential';
import type { FetchLike } from '../shared/auth/types';
import { agentForExtraCa, definedOnly, readLocalSettings } from './lib/localSettings';

/** The settings the consent reads. */
const consentSettingsSchema = settingsSchema.pick({
  ENTRA_AUTHORITY_HOST: true,
  ENTRA_TENANT_ID: true,
  KEY_VAULT_URL: true,
  KEY_VAULT_CLIENT_ID_SECRET_NAME: true,
  KEY_VAULT_CLIENT_SECRET_SECRET_NAME: true,
  KEY_VAULT_REFRESH_TOKEN_SECRET_NAME: true,
});

/** Options of {@link authConsentCommand} (tests pass their own environment, agent and output). */
export interface AuthConsentCommandOptions {
  argv?: readonly string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  print?: (line: string) => void;
  printError?: (line: string) => void;
  /** Agent trusting the sandbox CA in-process (else built from NODE_EXTRA_CA_CERTS in local.settings.json). */
  httpsAgent?: https.Agent;
  credential?: TokenCredential;
  fetch?: FetchLike;
  sleep?: (delayMs: number) => Promise<void>;
}

/** Runs the consent command; resolves to the process exit code (0 stored, 1 failed, 2 usage). */
export async function authConsentCommand(options: AuthConsentCommandOptions = {}): Promise<number> {
  const argv = options.argv ?? process.argv.slice(2);
  const print = options.print ?? ((line: string) => console.log(line));
  const printError = options.printError ?? ((line: string) => console.error(line));
  if (argv.includes('--help') || argv.includes('-h')) {
    print('Usage: npm run auth:consent [-- --settings <local.settings.json>] [--public-client]');
    return 0;
  }
  const settingsIndex = argv.indexOf('--settings');
  const cwd = options.cwd ?? process.cwd();
  const settingsFile = settingsIndex >= 0 ? argv[settingsIndex + 1] : path.join(cwd, 'local.settings.json');
  if (settingsIndex >= 0 && !settingsFile) {
    printError('--settings needs a file');
    return 2;
  }
  try {
    const env = options.env ?? process.env;
    const fileValues = readLocalSettings(settingsFile);
    const merged: Record<string, string | undefined> = { ...fileValues, ...definedOnly(env) };
    const parsed = consentSettingsSchema.safeParse(merged);
    if (!parsed.success) {
      printError(
        `Missing or invalid settings: ${parsed.error.issues.map((i) => String(i.path[0] ?? '(root)')).join(', ')}`,
      );
      return 2;
    }
    const settings = parsed.data;
    // EnvironmentCredential reads process.env: give it the file's AZURE_* values the environment lacks.
    if (!options.credential) {
      for (const [name, value] of Object.entries(fileValues))
        if (name.startsWith('AZURE_') && process.env[name] === undefined) process.env[name] = value;
    }
    const httpsAgent =
      options.httpsAgent ??
      agentForExtraCa(fileValues.NODE_EXTRA_CA_CERTS, env.NODE_EXTRA_CA_CERTS, [cwd, path.dirname(settingsFile)]);
    const credential =
      options.credential ?? createDefaultCredential({ env: { ...merged, ...definedOnly(process.env) }, httpsAgent });
    const secretClient = new SecretClient(settings.KEY_VAULT_URL, credential, {
      retryOptions: { maxRetries: 0 },
      ...(httpsAgent ? { agent: httpsAgent } : {}),
    });
    print(
      `Authority ${settings.ENTRA_AUTHORITY_HOST}, tenant ${settings.ENTRA_TENANT_ID}, Key Vault ${settings.KEY_VAULT_URL}`,
    );
    const result: AuthConsentResult = await runAuthConsent({
      secretClient,
      authorityHost: settings.ENTRA_AUTHORITY_HOST,
      tenantId: settings.ENTRA_TENANT_ID,
      secretNames: {
        clientId: settings.KEY_VAULT_CLIENT_ID_SECRET_NAME,
        clientSecret: settings.KEY_VAULT_CLIENT_SECRET_SECRET_NAME,
        refreshToken: settings.KEY_VAULT_REFRESH_TOKEN_SECRET_NAME,
      },
      useClientSecret: !argv.includes('--public-client'),
      print,
      httpsAgent,
      fetch: options.fetch,
      sleep: options.sleep,
    });
    print(`Done (version ${result.version}).`);
    return 0;
  } catch (error) {
    printError(`auth:consent failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    return 1;
  }
}

if (require.main === module) {
  // Exit explicitly: SDK and agent sockets must not keep a finished command alive.
  authConsentCommand().then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
