/**
 * Test fixtures of the token broker: the real Entra and Key Vault stand-ins in-process (HTTPS with the
 * sandbox CA, trusted through an agent because NODE_EXTRA_CA_CERTS cannot be set after start), a fake
 * clock, a recording sleep, a capturing log sink and an in-memory lease table with ETag semantics.
 */
import https from 'node:https';
import { randomBytes, randomUUID } from 'node:crypto';
import nodeFetch from 'node-fetch';
import type { TokenCredential } from '@azure/core-auth';
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { createSandboxTls, type SandboxTls } from '../../../../sandbox/tls';
import { startEntra, type RunningEntra, type StartEntraOptions } from '../../../../sandbox/entra/server';
import { startKeyVault, type RunningKeyVault } from '../../../../sandbox/key-vault/server';
import { createLogger, type LogFields, type Logger, type LogLevel } from '../../../../shared/platform/logging';
import type { FetchLike, LeaseTableClient, TokenBrokerOptions } from '../../../../shared/auth';

/** Secret names the fixtures seed (the app's defaults). */
export const SECRET_NAMES = {
  clientId: 'partner-center-client-id',
  clientSecret: 'partner-center-client-secret',
  refreshToken: 'partner-center-refresh-token',
} as const;

export const PARTNER_CENTER_RESOURCE = 'https://api.partner.microsoft.com';

/** The running stand-ins and clients that trust them. */
export interface AuthStandIns {
  tls: SandboxTls;
  entra: RunningEntra;
  keyVault: RunningKeyVault;
  /** Trusts the sandbox CA. */
  agent: https.Agent;
  /** A real SecretClient (ClientSecretCredential against the Entra stand-in), SDK retries off. */
  secretClient: SecretClient;
  /** Another SecretClient with its own credential (a second instance). */
  createSecretClient(): SecretClient;
  /** The credential `secretClient` uses (the app's managed identity, played by a client of the stand-in). */
  credential: TokenCredential;
  /** That identity's client id and secret (for AZURE_CLIENT_ID / AZURE_CLIENT_SECRET). */
  identity: { clientId: string; clientSecret: string };
  app: { clientId: string; clientSecret: string };
  /** node-fetch through `agent`, counting token endpoint calls. */
  fetch: FetchLike;
  /** Stores a new version of the refresh token secret (what an operator or auth:consent does). */
  storeRefreshToken(value: string): Promise<string>;
  close(): Promise<void>;
}

let sharedTls: Promise<SandboxTls> | undefined;

/** Starts Entra and Key Vault stand-ins seeded with the app's client id, secret and a first refresh token. */
export async function startAuthStandIns(
  options: {
    accessTokenLifetimeSeconds?: number;
    seedRefreshToken?: boolean;
    tagClientId?: boolean;
    entra?: Partial<StartEntraOptions>;
  } = {},
): Promise<AuthStandIns> {
  sharedTls ??= createSandboxTls();
  const tls = await sharedTls;
  const app = { clientId: 'cosell-bridge-test-app', clientSecret: randomBytes(24).toString('base64url') };
  const identity = { clientId: 'cosell-bridge-test-identity', clientSecret: randomBytes(24).toString('base64url') };
  const entra = await startEntra({
    tls,
    clients: [app, identity],
    accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? 3600,
    ...options.entra,
  });
  const secrets: Record<string, string | { value: string; tags?: Record<string, string> }> = {
    [SECRET_NAMES.clientId]: app.clientId,
    [SECRET_NAMES.clientSecret]: options.tagClientId
      ? { value: app.clientSecret, tags: { clientId: app.clientId } }
      : app.clientSecret,
  };
  if (options.seedRefreshToken !== false) secrets[SECRET_NAMES.refreshToken] = entra.issueRefreshToken();
  const keyVault = await startKeyVault({ tls, entra: entra.verification, secrets });
  const agent = new https.Agent({ ca: tls.caPem, keepAlive: false });
  const lifetimeSeconds = options.accessTokenLifetimeSeconds ?? 3600;
  // The real credential (MSAL) when tokens live long enough. With short-lived tokens the Key Vault
  // client's token cycler refreshes in the background and does not handle a failure of that refresh
  // (@azure/keyvault-common tokenCycler: `refresh()` without a catch): once the stand-in is closed,
  // that is an unhandled rejection that kills the jest worker. Those suites get a credential that mints
  // hour-long tokens from the same stand-in instead.
  const newCredential = (): TokenCredential =>
    lifetimeSeconds >= 600
      ? new ClientSecretCredential(entra.tenantId, identity.clientId, identity.clientSecret, {
          authorityHost: entra.authorityHost,
          disableInstanceDiscovery: true,
          agent,
        })
      : {
          getToken: async () => ({
            token: entra.issueAccessToken({
              audience: keyVault.resource,
              user: null,
              clientId: identity.clientId,
              lifetimeSeconds: 3600,
            }),
            expiresOnTimestamp: Date.now() + 3_600_000,
          }),
        };
  const createSecretClient = (credential: TokenCredential = newCredential()) =>
    new SecretClient(keyVault.url, credential, { agent, retryOptions: { maxRetries: 0 } });
  const credential = newCredential();
  const secretClient = createSecretClient(credential);
  const fetch: FetchLike = (url, init) => nodeFetch(url, { ...init, agent: init?.agent ?? agent });
  return {
    tls,
    entra,
    keyVault,
    agent,
    secretClient,
    createSecretClient: () => createSecretClient(),
    credential,
    identity,
    app,
    fetch,
    storeRefreshToken: async (value) =>
      (await secretClient.setSecret(SECRET_NAMES.refreshToken, value)).properties.version ?? '',
    close: async () => {
      await keyVault.close();
      await entra.close();
      agent.destroy();
    },
  };
}

/** A clock that moves only when told. */
export class FakeClock {
  #nowMs: number;
  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.#nowMs = startMs;
  }
  nowMs(): number {
    return this.#nowMs;
  }
  advanceMs(ms: number): void {
    this.#nowMs += ms;
  }
  advanceSeconds(seconds: number): void {
    this.#nowMs += seconds * 1000;
  }
}

/** A sleep that returns at once and records what was asked (optionally moving a fake clock). */
export function recordingSleep(
  clock?: FakeClock,
  onSleep?: (delayMs: number) => void,
): { sleep: (delayMs: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (delayMs) => {
      delays.push(delayMs);
      clock?.advanceMs(delayMs);
      onSleep?.(delayMs);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

/** One captured log line. */
export interface CapturedLine {
  level: LogLevel;
  record: LogFields & { message: string };
}

/** A logger writing into an array (debug level and up). */
export function capturingLogger(): { logger: Logger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  return { lines, logger: createLogger({ minLevel: 'debug', sink: (level, record) => lines.push({ level, record }) }) };
}

/** Error with a Table Storage status, as @azure/data-tables throws. */
function tableError(statusCode: number, code: string): Error {
  return Object.assign(new Error(`${code} (${statusCode})`), { name: 'RestError', statusCode, code });
}

/**
 * The lease table in memory, with Table Storage's conditional-write rules: createEntity 409 when the
 * row exists, updateEntity 412 when the ETag differs. An etag of `*` is refused outright so that a
 * broker that ever passes it fails its tests.
 */
export class InMemoryLeaseTable implements LeaseTableClient {
  readonly rows = new Map<string, { entity: Record<string, unknown>; etag: string }>();
  readonly writes: Array<{ op: 'create' | 'update'; etag?: string; entity: Record<string, unknown> }> = [];
  createTableCalls = 0;

  async createTable(): Promise<void> {
    this.createTableCalls++;
  }

  async getEntity(partitionKey: string, rowKey: string): Promise<never> {
    const row = this.rows.get(`${partitionKey}|${rowKey}`);
    if (!row) throw tableError(404, 'ResourceNotFound');
    return { ...row.entity, etag: row.etag } as never;
  }

  async createEntity(entity: Record<string, unknown>): Promise<never> {
    const key = `${String(entity.partitionKey)}|${String(entity.rowKey)}`;
    if (this.rows.has(key)) throw tableError(409, 'EntityAlreadyExists');
    const etag = `W/"${randomUUID()}"`;
    this.rows.set(key, { entity: { ...entity }, etag });
    this.writes.push({ op: 'create', entity: { ...entity } });
    return { etag } as never;
  }

  async updateEntity(entity: Record<string, unknown>, _mode?: string, options: { etag?: string } = {}): Promise<never> {
    if (!options.etag || options.etag === '*') throw new Error('the lease must pass the real etag, never "*" or none');
    const key = `${String(entity.partitionKey)}|${String(entity.rowKey)}`;
    const row = this.rows.get(key);
    if (!row) throw tableError(404, 'ResourceNotFound');
    if (row.etag !== options.etag) throw tableError(412, 'UpdateConditionNotSatisfied');
    const etag = `W/"${randomUUID()}"`;
    this.rows.set(key, { entity: { ...entity }, etag });
    this.writes.push({ op: 'update', etag: options.etag, entity: { ...entity } });
    return { etag } as never;
  }
}

/** Broker options against the stand-ins, with a fake clock, a recording sleep and quiet logs. */
export function brokerOptions(standIns: AuthStandIns, overrides: Partial<TokenBrokerOptions> = {}): TokenBrokerOptions {
  return {
    secretClient: standIns.secretClient,
    leaseTable: new InMemoryLeaseTable(),
    tokenEndpoint: { authorityHost: standIns.entra.authorityHost, tenantId: standIns.entra.tenantId },
    resource: PARTNER_CENTER_RESOURCE,
    secretNames: { ...SECRET_NAMES },
    fetch: standIns.fetch,
    logger: capturingLogger().logger,
    sleep: recordingSleep().sleep,
    random: () => 0.5,
    ...overrides,
  };
}
