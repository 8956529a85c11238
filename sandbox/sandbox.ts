/**
 * The whole product on loopback: Azurite, the Entra and Key Vault stand-ins (TLS with a generated CA),
 * the Partner Center simulator and the local Functions host running the built app. `npm start` runs it
 * with fixed ports; tests, chaos runs and benchmarks run it with free ports.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startAzurite, type RunningAzurite } from './azurite';
import { createSandboxTls } from './tls';
import { startEntra } from './entra/server';
import { startKeyVault } from './key-vault/server';
import { startPartnerCenter } from './partner-center/server';
import { startLocalHost, type RunningHost } from './host';
import { registerSandboxEvents } from './registerEvents';

/** Ports `npm start` prefers (0 everywhere = free ports). */
export const DEFAULT_PORTS = {
  host: 7071,
  partnerCenter: 7081,
  entra: 7082,
  keyVault: 7083,
  /** The simulator's TLS listener serving the events signing certificate. */
  partnerCenterCertificates: 7084,
  blob: 10000,
  queue: 10001,
  table: 10002,
} as const;

/**
 * host.json override that makes queue work fast for tests, chaos runs and benchmarks: a failed message
 * comes back after 1 s and an idle queue is polled at least every `maxPollingIntervalMs`.
 */
export function fastQueuesHostJson(maxPollingIntervalMs = 200): object {
  return {
    version: '2.0',
    extensions: {
      http: { routePrefix: 'api' },
      queues: {
        messageEncoding: 'none',
        maxDequeueCount: 5,
        visibilityTimeout: '00:00:01',
        maxPollingInterval: `00:00:00.${String(maxPollingIntervalMs).padStart(3, '0')}`,
        batchSize: 16,
        newBatchThreshold: 8,
      },
    },
  };
}

/** Options for {@link startSandbox}. */
export interface SandboxOptions {
  /** The app to host (the repository root). */
  appDir: string;
  /** Where the CA, endpoints.json and Azurite data go. @default `<appDir>/.sandbox` */
  stateDir?: string;
  /** Use free ports instead of the defaults. @default false */
  freePorts?: boolean;
  /** Keep Azurite in memory (tests). @default false: data in a temp folder */
  inMemoryStorage?: boolean;
  /** Profile Azurite's CPU into this folder (benchmarks: where the storage emulator's time goes). */
  azuriteCpuProfileDir?: string;
  /** Extra app settings: they win over the sandbox's choices and over {@link SandboxOptions.environment}. */
  appSettings?: Record<string, string>;
  /**
   * The caller's environment (`npm start` passes `process.env`): a variable named like an app setting the
   * sandbox chooses wins over that choice, so `CALLBACK_ALLOW_PRIVATE_TARGETS=false npm start` runs the
   * production policy. Settings the sandbox does not choose reach the app from the host's environment
   * anyway. {@link SANDBOX_OWN_SETTINGS} are never taken from it. @default {} (tests: nothing leaks in)
   */
  environment?: Record<string, string | undefined>;
  /** host.json override for the local host (tests shorten polling and retries). */
  hostJson?: object;
  /** Access-token lifetime the Entra stand-in issues. @default 3600 */
  accessTokenLifetimeSeconds?: number;
  /** Seed of the stand-ins' fault injection. */
  seed?: number;
  quiet?: boolean;
  /** Start the local host (false: only the stand-ins and Azurite). @default true */
  startHost?: boolean;
  /** Node.js binary of the local host and the app. @default this process's own */
  hostExecPath?: string;
  /**
   * Register the app's events URL with the simulator's Webhook API once the host is up (through the
   * app's registration library, as `npm run events:register` does). @default true
   */
  registerEvents?: boolean;
}

/** Every URL the sandbox serves, as written to `.sandbox/endpoints.json`. */
export interface SandboxEndpoints {
  /** The app's HTTP functions, `<host origin>/api`. */
  functions: string;
  /** The simulator's referrals collection (`<origin>/v1.0/engagements/referrals`). */
  partnerCenter: string;
  /** The simulator's origin: what PARTNER_CENTER_BASE_URL is set to. */
  partnerCenterOrigin: string;
  /** Every referral the simulator holds (GET `{ value, count }`): a look at what the app created. */
  partnerCenterInspect: string;
  entra: string;
  keyVault: string;
  queue: string;
  table: string;
  blob: string;
  caCertificate: string;
  /** The events URL registered with the simulator ('' when none is). */
  partnerCenterEvents: string;
  /** Where the simulator serves the events signing certificate (https, sandbox CA). */
  eventsCertificate: string;
}

/** A running sandbox. */
export interface RunningSandbox {
  endpoints: SandboxEndpoints;
  /** The settings the app runs with (also usable by in-process tests). */
  appSettings: Record<string, string>;
  /** Names (never values) of the sandbox's settings that {@link SandboxOptions.environment} overrode. */
  environmentOverrides: string[];
  azurite: RunningAzurite;
  entra: Awaited<ReturnType<typeof startEntra>>;
  keyVault: Awaited<ReturnType<typeof startKeyVault>>;
  partnerCenter: Awaited<ReturnType<typeof startPartnerCenter>>;
  host?: RunningHost;
  /** The CA the stand-ins' certificates chain to (PEM). */
  caPem: string;
  /** Kills the local host (SIGKILL, like a crash) and starts it again on the same port. */
  restartHost(options?: { kill?: boolean }): Promise<RunningHost>;
  stop(): Promise<void>;
}

/** Secret names and ids the sandbox seeds. */
export const SANDBOX_IDS = {
  tenantId: 'sandbox-partner-tenant',
  appClientId: 'cosell-bridge-sandbox-app',
  keyVaultReaderClientId: 'cosell-bridge-sandbox-identity',
  partnerOrganization: { id: '7d23e5ca-19dc-4eaa-aac8-5e6b559f0d1d', name: 'Contoso Partner (sandbox)' },
} as const;

/**
 * Settings the sandbox owns even when the environment names them: not app settings but how the host
 * process trusts the stand-ins' TLS (Node reads one NODE_EXTRA_CA_CERTS file; another one breaks every
 * call to Entra and Key Vault).
 */
export const SANDBOX_OWN_SETTINGS: ReadonlySet<string> = new Set(['NODE_EXTRA_CA_CERTS']);

/**
 * The app settings: the sandbox's choices, overridden by the caller's environment where it names one of
 * them (except {@link SANDBOX_OWN_SETTINGS}), then by explicit `appSettings`. Also returns which of
 * the sandbox's choices the environment overrode (names only).
 */
export function resolveAppSettings(
  sandboxChoices: Record<string, string>,
  environment: Record<string, string | undefined> = {},
  explicit: Record<string, string> = {},
): { appSettings: Record<string, string>; environmentOverrides: string[] } {
  const appSettings = { ...sandboxChoices };
  const environmentOverrides: string[] = [];
  for (const name of Object.keys(sandboxChoices)) {
    const value = environment[name];
    if (value === undefined || SANDBOX_OWN_SETTINGS.has(name) || name in explicit) continue;
    appSettings[name] = value;
    if (value !== sandboxChoices[name]) environmentOverrides.push(name);
  }
  return { appSettings: { ...appSettings, ...explicit }, environmentOverrides: environmentOverrides.sort() };
}

/** Starts everything; see {@link SandboxOptions}. */
export async function startSandbox(options: SandboxOptions): Promise<RunningSandbox> {
  const stateDir = options.stateDir ?? path.join(options.appDir, '.sandbox');
  mkdirSync(stateDir, { recursive: true });
  const port = (preferred: number) => (options.freePorts ? 0 : preferred);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const caPath = path.join(stateDir, 'ca.pem');
    const tls = await createSandboxTls({ caPath });
    const azurite = await startAzurite({
      inMemory: options.inMemoryStorage,
      quiet: true,
      ...(options.azuriteCpuProfileDir ? { cpuProfileDir: options.azuriteCpuProfileDir } : {}),
      blobPort: port(DEFAULT_PORTS.blob),
      queuePort: port(DEFAULT_PORTS.queue),
      tablePort: port(DEFAULT_PORTS.table),
    });
    stops.push(() => azurite.stop());

    const appSecret = randomBytes(24).toString('base64url');
    const identitySecret = randomBytes(24).toString('base64url');
    const entra = await startEntra({
      tls,
      port: port(DEFAULT_PORTS.entra),
      tenantId: SANDBOX_IDS.tenantId,
      clients: [
        { clientId: SANDBOX_IDS.appClientId, clientSecret: appSecret },
        { clientId: SANDBOX_IDS.keyVaultReaderClientId, clientSecret: identitySecret },
      ],
      accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds,
      seed: options.seed,
    });
    stops.push(() => entra.close());
    const secretNames = {
      clientId: 'partner-center-client-id',
      clientSecret: 'partner-center-client-secret',
      refreshToken: 'partner-center-refresh-token',
    };
    const keyVault = await startKeyVault({
      tls,
      port: port(DEFAULT_PORTS.keyVault),
      entra: entra.verification,
      secrets: {
        [secretNames.clientId]: SANDBOX_IDS.appClientId,
        // The client id also rides as a tag of the client secret: the broker then reads 2 secrets, not 3.
        [secretNames.clientSecret]: { value: appSecret, tags: { clientId: SANDBOX_IDS.appClientId } },
        [secretNames.refreshToken]: entra.issueRefreshToken('referrals-admin@partner.example'),
      },
    });
    stops.push(() => keyVault.close());
    const partnerCenter = await startPartnerCenter({
      port: port(DEFAULT_PORTS.partnerCenter),
      entra: entra.verification,
      seed: options.seed,
      partnerOrganization: SANDBOX_IDS.partnerOrganization,
      tls,
      webhooks: { certificatePort: port(DEFAULT_PORTS.partnerCenterCertificates), retryBaseDelayMs: 100 },
    });
    stops.push(() => partnerCenter.close());

    const sandboxChoices: Record<string, string> = {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsStorage: azurite.connectionString,
      PARTNER_CENTER_BASE_URL: partnerCenter.url,
      ENTRA_AUTHORITY_HOST: entra.authorityHost,
      ENTRA_TENANT_ID: SANDBOX_IDS.tenantId,
      KEY_VAULT_URL: keyVault.url,
      KEY_VAULT_CLIENT_ID_SECRET_NAME: secretNames.clientId,
      KEY_VAULT_CLIENT_SECRET_SECRET_NAME: secretNames.clientSecret,
      KEY_VAULT_REFRESH_TOKEN_SECRET_NAME: secretNames.refreshToken,
      CALLBACK_ALLOW_PRIVATE_TARGETS: 'true',
      EVENTS_RECONCILE_SCHEDULE: '*/15 * * * * *', // a lost event is repaired within 60 s (docs/events.md)
      // DefaultAzureCredential → EnvironmentCredential → the Entra stand-in (the app's identity in Azure).
      AZURE_TENANT_ID: SANDBOX_IDS.tenantId,
      AZURE_CLIENT_ID: SANDBOX_IDS.keyVaultReaderClientId,
      AZURE_CLIENT_SECRET: identitySecret,
      AZURE_AUTHORITY_HOST: entra.authorityHost,
      // MSAL's instance discovery asks login.microsoftonline.com, unreachable offline (docs/sandbox.md).
      AZURE_DISABLE_INSTANCE_DISCOVERY: 'true',
      NODE_EXTRA_CA_CERTS: caPath,
      // Events (docs/events.md "Sandbox"): only here is the sandbox CA a webhook root and the simulator a certificate host.
      EVENTS_TRUSTED_ROOTS_PATH: caPath,
      EVENTS_CERT_URL_ALLOWLIST: `${new URL(partnerCenter.certificateUrl).host}/cert/*`,
      PARTNER_CENTER_WEBHOOK_API_URL: partnerCenter.url,
    };
    const { appSettings, environmentOverrides } = resolveAppSettings(
      sandboxChoices,
      options.environment,
      options.appSettings,
    );
    let host: RunningHost | undefined;
    const hostPort = port(DEFAULT_PORTS.host);
    const launchHost = async (fixedPort: number) =>
      startLocalHost({
        appDir: options.appDir,
        port: fixedPort,
        env: appSettings,
        hostJson: options.hostJson,
        quiet: options.quiet,
        ...(options.hostExecPath ? { execPath: options.hostExecPath } : {}),
      });
    if (options.startHost !== false) {
      host = await launchHost(hostPort);
      stops.push(() => host?.stop() ?? Promise.resolve());
    }
    const eventsUrl = host && options.registerEvents !== false ? `${host.url}/api/partner-center/events` : '';
    if (eventsUrl) await registerSandboxEvents({ appSettings, caPem: tls.caPem, webhookUrl: eventsUrl });
    const endpoints: SandboxEndpoints = {
      functions: host ? `${host.url}/api` : '',
      partnerCenter: `${partnerCenter.url}/v1.0/engagements/referrals`,
      partnerCenterOrigin: partnerCenter.url,
      partnerCenterInspect: `${partnerCenter.url}/_sandbox/referrals`,
      entra: entra.authorityHost,
      keyVault: keyVault.url,
      queue: azurite.queueUrl,
      table: azurite.tableUrl,
      blob: azurite.blobUrl,
      caCertificate: caPath,
      partnerCenterEvents: eventsUrl,
      eventsCertificate: partnerCenter.certificateUrl,
    };
    writeFileSync(path.join(stateDir, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);
    // The settings the app runs with, for tools such as `npm run auth:consent -- --settings .sandbox/local.settings.json`.
    writeFileSync(
      path.join(stateDir, 'local.settings.json'),
      `${JSON.stringify({ IsEncrypted: false, Values: appSettings }, null, 2)}\n`,
      { mode: 0o600 },
    );
    const sandbox: RunningSandbox = {
      endpoints,
      appSettings,
      environmentOverrides,
      azurite,
      entra,
      keyVault,
      partnerCenter,
      host,
      caPem: tls.caPem,
      async restartHost({ kill = true } = {}) {
        const previous = sandbox.host;
        if (previous) await (kill ? previous.kill() : previous.stop());
        sandbox.host = await launchHost(previous?.port ?? hostPort);
        host = sandbox.host;
        return sandbox.host;
      },
      stop: stopAll,
    };
    return sandbox;
  } catch (error) {
    await stopAll();
    throw error;
  }
}
