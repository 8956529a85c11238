/**
 * The Key Vault (secrets) stand-in, served over HTTPS on 127.0.0.1: the REST calls `@azure/keyvault-secrets`
 * makes, with Key Vault's bearer challenge.
 *
 * - `GET /secrets/{name}[/]`, `GET /secrets/{name}/{version}`, `PUT /secrets/{name}` (new version),
 *   `GET /secrets/{name}/versions`, `GET /secrets` (paged with `maxresults` and `nextLink`),
 *   `DELETE /secrets/{name}`, `GET|DELETE /deletedsecrets/{name}`. `api-version` is required, any value.
 * - A request without a valid token gets 401 with
 *   `WWW-Authenticate: Bearer authorization="<entra>/<tenant>", resource="<resource>"`.
 *   The resource defaults to {@link SANDBOX_VAULT_RESOURCE} so that SecretClient's challenge-resource
 *   verification passes for a vault URL of `https://127.0.0.1:<port>` (see docs/sandbox.md).
 * - Control surface (loopback, no auth): `/_sandbox/faults`, `/_sandbox/stats`.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  FaultInjector,
  SandboxHttpError,
  closeServer,
  delay,
  increment,
  isLoopback,
  listenOnLoopback,
  parseJson,
  readBody,
  sendJson,
  serveFaultControl,
  type FaultConfig,
  type FaultKind,
  type FaultPlan,
} from '../http-util';
import type { SandboxTls } from '../tls';
import { AccessTokenVerifier, type EntraVerification } from '../entra/tokenVerifier';
import { KeyVaultError, KeyVaultErrorCode } from './errors';
import { SET_CONFLICT, SecretStore, type DeletedSecret, type SecretVersion } from './secretStore';

/**
 * The resource the challenge names for a vault reached as `https://127.0.0.1:<port>`.
 *
 * SecretClient checks that the request host ends with `.` + the challenge resource's host
 * (`vault.azure.net` for `myvault.vault.azure.net`). For the host `127.0.0.1` no `https://` resource
 * passes: the URL parser turns any all-numeric host into a full IPv4 address. A non-special scheme keeps
 * the host as written, and `api://0.0.1` (an Entra-style application ID URI) has the host `0.0.1`, a
 * dot-suffix of `127.0.0.1`. Tokens are therefore asked for the scope `api://0.0.1/.default`.
 */
export const SANDBOX_VAULT_RESOURCE = 'api://0.0.1';

/** Options for {@link startKeyVault}. */
export interface StartKeyVaultOptions {
  tls: SandboxTls;
  /** @default 0 (a free port) */
  port?: number;
  /** The Entra stand-in (`RunningEntra.verification`). */
  entra: EntraVerification;
  /** Initial secrets, `{ name: value }` or `{ name: { value, tags } }`. */
  secrets?: Record<string, string | { value: string; tags?: Record<string, string> }>;
  /** Resource named in the 401 challenge. @default {@link SANDBOX_VAULT_RESOURCE} */
  challengeResource?: string;
  /** Seed of the fault-injection PRNG. @default 1 */
  seed?: number;
  faults?: FaultConfig;
  nowMs?: () => number;
}

/** Counters served by `GET /_sandbox/stats`. */
export interface KeyVaultStats {
  /** Successful reads (get) by secret name. */
  reads: Record<string, number>;
  /** Successful writes (set) by secret name. */
  writes: Record<string, number>;
  /** Calls by operation, then by HTTP status. */
  calls: Record<string, Record<string, number>>;
  /** 401 answers (challenges included). */
  unauthorized: number;
  faults: Record<FaultKind, number>;
}

/** A running Key Vault stand-in. */
export interface RunningKeyVault {
  /** The vault URL, `https://127.0.0.1:<port>`. */
  url: string;
  /** Resource the challenge names (token scope = resource + `/.default`). */
  resource: string;
  stats(): KeyVaultStats;
  /** Latest value of a secret (tests and demos). */
  secretValue(name: string): string | undefined;
  setFaults(faults: FaultConfig): void;
  clearFaults(): void;
  close(): Promise<void>;
}

type Operation = 'get' | 'set' | 'list' | 'delete';
interface Route {
  operation: Operation;
  handle: (body: Buffer, query: URLSearchParams) => { status: number; body: unknown; name?: string };
}

const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const PAGE_SIZE_MAX = 25;

/** Starts the Key Vault stand-in; see the module comment for the routes. */
export async function startKeyVault(options: StartKeyVaultOptions): Promise<RunningKeyVault> {
  const nowMs = options.nowMs ?? Date.now;
  const store = new SecretStore({ nowMs });
  for (const [name, seed] of Object.entries(options.secrets ?? {}))
    store.set(name, typeof seed === 'string' ? { value: seed } : seed);
  const faults = new FaultInjector({
    seed: options.seed,
    faults: options.faults,
    defaultDropOperations: ['set'],
    nowMs,
  });
  const counters = {
    reads: {} as Record<string, number>,
    writes: {} as Record<string, number>,
    calls: {} as Record<string, Record<string, number>>,
    unauthorized: 0,
  };

  const server = https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem });
  const port = await listenOnLoopback(server, options.port);
  const url = `https://127.0.0.1:${port}`;
  const resource = options.challengeResource ?? SANDBOX_VAULT_RESOURCE;
  const verifier = new AccessTokenVerifier(options.entra, {
    audiences: [resource, url, `${url}/`, 'https://vault.azure.net'],
    nowMs,
  });
  const challenge = `Bearer authorization="${options.entra.authorityUrl}/${options.entra.tenantId}", resource="${resource}"`;

  const bundle = (s: SecretVersion, withValue: boolean, versioned = true): Record<string, unknown> => ({
    ...(withValue ? { value: s.value } : {}),
    id: versioned ? `${url}/secrets/${s.name}/${s.version}` : `${url}/secrets/${s.name}`,
    attributes: {
      enabled: s.enabled,
      ...(s.notBeforeEpochSeconds !== undefined ? { nbf: s.notBeforeEpochSeconds } : {}),
      ...(s.expiresEpochSeconds !== undefined ? { exp: s.expiresEpochSeconds } : {}),
      created: s.createdEpochSeconds,
      updated: s.updatedEpochSeconds,
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
    },
    ...(s.tags ? { tags: s.tags } : {}),
    ...(s.contentType !== undefined ? { contentType: s.contentType } : {}),
  });

  const deletedBundle = (d: DeletedSecret): Record<string, unknown> => ({
    recoveryId: `${url}/deletedsecrets/${d.latest.name}`,
    deletedDate: d.deletedEpochSeconds,
    scheduledPurgeDate: d.scheduledPurgeEpochSeconds,
    ...bundle(d.latest, false),
  });

  const notFound = (name: string, version?: string) =>
    new KeyVaultError(
      404,
      KeyVaultErrorCode.secretNotFound,
      version
        ? `A secret with (name/id) ${name}/${version} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`
        : `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    );

  /** One page of `items` with Key Vault's `nextLink` (absolute, keeps api-version and maxresults). */
  const page = (items: unknown[], query: URLSearchParams, path: string): Record<string, unknown> => {
    const requested = query.get('maxresults');
    const size = requested === null ? PAGE_SIZE_MAX : Number(requested);
    if (!Number.isInteger(size) || size < 1 || size > PAGE_SIZE_MAX) {
      throw new KeyVaultError(
        400,
        KeyVaultErrorCode.badParameter,
        `maxresults must be an integer from 1 to ${PAGE_SIZE_MAX}.`,
      );
    }
    const token = query.get('$skiptoken');
    const offset = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0)
      throw new KeyVaultError(400, KeyVaultErrorCode.badParameter, 'Invalid $skiptoken.');
    const value = items.slice(offset, offset + size);
    let nextLink: string | null = null;
    if (offset + size < items.length) {
      const next = new URLSearchParams({
        'api-version': query.get('api-version') ?? '',
        $skiptoken: Buffer.from(String(offset + size)).toString('base64url'),
        maxresults: String(size),
      });
      nextLink = `${url}${path}?${next.toString()}`;
    }
    return { value, nextLink };
  };

  const route = (method: string, path: string): Route | undefined => {
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [collection, name, third] = segments;
    if (collection === 'secrets' && segments.length === 1 && method === 'GET') {
      return {
        operation: 'list',
        handle: (_b, q) => ({
          status: 200,
          body: page(
            store.latestOfEach().map((s) => bundle(s, false, false)),
            q,
            '/secrets',
          ),
        }),
      };
    }
    if (collection === 'secrets' && name !== undefined && segments.length <= 3) {
      if (!NAME.test(name)) return badName(name);
      if (method === 'GET' && third === 'versions') {
        return {
          operation: 'list',
          handle: (_b, q) => {
            const versions = store.versions(name);
            if (!versions) throw notFound(name);
            return {
              status: 200,
              body: page(
                versions.map((s) => bundle(s, false)),
                q,
                `/secrets/${name}/versions`,
              ),
            };
          },
        };
      }
      if (method === 'GET') {
        return {
          operation: 'get',
          handle: () => {
            const secret = store.get(name, third);
            if (!secret) throw notFound(name, third);
            if (!secret.enabled)
              throw new KeyVaultError(
                403,
                KeyVaultErrorCode.forbidden,
                'Operation get is not allowed on a disabled secret.',
              );
            return { status: 200, body: bundle(secret, true), name: secret.name };
          },
        };
      }
      if (method === 'PUT' && third === undefined) return { operation: 'set', handle: (b) => setSecret(name, b) };
      if (method === 'DELETE' && third === undefined) {
        return {
          operation: 'delete',
          handle: () => {
            const deleted = store.delete(name);
            if (!deleted) throw notFound(name);
            return { status: 200, body: deletedBundle(deleted) };
          },
        };
      }
    }
    if (collection === 'deletedsecrets' && name !== undefined && segments.length === 2) {
      if (method === 'GET') {
        return {
          operation: 'get',
          handle: () => {
            const deleted = store.getDeleted(name);
            if (!deleted)
              throw new KeyVaultError(404, KeyVaultErrorCode.secretNotFound, `Deleted Secret not found: ${name}`);
            return { status: 200, body: deletedBundle(deleted) };
          },
        };
      }
      if (method === 'DELETE') {
        return {
          operation: 'delete',
          handle: () => {
            if (!store.purge(name))
              throw new KeyVaultError(404, KeyVaultErrorCode.secretNotFound, `Deleted Secret not found: ${name}`);
            return { status: 204, body: undefined };
          },
        };
      }
    }
    return undefined;
  };

  const setSecret = (name: string, raw: Buffer): { status: number; body: unknown; name: string } => {
    const body = parseJson(raw);
    if (!isRecord(body) || typeof body.value !== 'string') {
      throw new KeyVaultError(
        400,
        KeyVaultErrorCode.badParameter,
        'The request body must be a JSON object with a string "value".',
      );
    }
    const attributes = isRecord(body.attributes) ? body.attributes : {};
    const tags = isRecord(body.tags)
      ? (Object.fromEntries(Object.entries(body.tags).map(([k, v]) => [k, String(v)])) as Record<string, string>)
      : undefined;
    const stored = store.set(name, {
      value: body.value,
      contentType: typeof body.contentType === 'string' ? body.contentType : undefined,
      tags,
      enabled: typeof attributes.enabled === 'boolean' ? attributes.enabled : undefined,
      notBeforeEpochSeconds: typeof attributes.nbf === 'number' ? attributes.nbf : undefined,
      expiresEpochSeconds: typeof attributes.exp === 'number' ? attributes.exp : undefined,
    });
    if (stored === SET_CONFLICT) {
      throw new KeyVaultError(
        409,
        KeyVaultErrorCode.conflict,
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
      );
    }
    return { status: 200, body: bundle(stored, true), name: stored.name };
  };

  const injected = (reject: NonNullable<FaultPlan['reject']>): KeyVaultError => {
    if (reject.kind === 'rateLimit') {
      return new KeyVaultError(
        429,
        KeyVaultErrorCode.throttled,
        'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
      );
    }
    return reject.status === 503
      ? new KeyVaultError(
          503,
          KeyVaultErrorCode.serviceUnavailable,
          'The service is temporarily unavailable. Please retry later.',
        )
      : new KeyVaultError(
          500,
          KeyVaultErrorCode.internalServerError,
          'An unexpected error occurred. Please retry later.',
        );
  };

  const control = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (!isLoopback(req.socket.remoteAddress))
      return sendJson(res, 403, { error: { code: 'Forbidden', message: 'Loopback callers only.' } });
    const method = req.method ?? 'GET';
    if (await serveFaultControl(req, res, faults)) return;
    if (path === '/_sandbox/stats' && method === 'GET') return sendJson(res, 200, stats());
    sendJson(res, 404, { error: { code: 'NotFound', message: `No control route ${method} ${path}` } });
  };

  const count = (matched: Route, outcome: { name?: string }) => {
    if (outcome.name !== undefined)
      increment(matched.operation === 'set' ? counters.writes : counters.reads, outcome.name);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const headers = {
      'x-ms-request-id': requestId,
      'x-ms-keyvault-service-version': 'sandbox',
      'Cache-Control': 'no-cache',
    };
    const [path, search = ''] = (req.url ?? '/').split('?', 2);
    const method = req.method ?? 'GET';
    let operation: string = 'unknown';
    const reply = (status: number, body: unknown, extra: Record<string, string | number> = {}) => {
      const byStatus = (counters.calls[operation] ??= {});
      increment(byStatus, String(status));
      sendJson(res, status, body, { ...headers, ...extra });
    };
    try {
      if (path.startsWith('/_sandbox/')) return await control(req, res, path);
      const body = await readBody(req);
      const matched = route(method, path);
      if (matched) operation = matched.operation;
      const auth = verifier.verify(req.headers.authorization);
      const tenantMismatch = auth.ok && auth.claims.tid !== options.entra.tenantId;
      if (!auth.ok || tenantMismatch) {
        counters.unauthorized++;
        const message =
          !auth.ok && auth.failure === 'missing'
            ? 'AKV10000: Request is missing a Bearer or PoP token.'
            : `The access token is not valid (${auth.ok ? 'wrong tenant' : auth.failure}).`;
        return reply(401, new KeyVaultError(401, KeyVaultErrorCode.unauthorized, message).toBody(), {
          'WWW-Authenticate': challenge,
        });
      }
      if (!matched)
        return reply(404, new KeyVaultError(404, KeyVaultErrorCode.notFound, `No route ${method} ${path}`).toBody());
      const query = new URLSearchParams(search);
      if (!query.get('api-version')) {
        return reply(
          400,
          new KeyVaultError(
            400,
            KeyVaultErrorCode.badParameter,
            'The request URI contains an invalid or missing api-version.',
          ).toBody(),
        );
      }
      const plan = faults.plan(matched.operation);
      if (plan.delayMs > 0) await delay(plan.delayMs);
      if (plan.reject) {
        const retryAfter = plan.reject.retryAfterSeconds;
        return reply(
          plan.reject.status,
          injected(plan.reject).toBody(),
          retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
        );
      }
      if (plan.dropAfterCommit) {
        try {
          count(matched, matched.handle(body, query));
        } catch {
          // The answer is lost either way.
        }
        return void req.socket.destroy();
      }
      const outcome = matched.handle(body, query);
      count(matched, outcome);
      reply(outcome.status, outcome.body);
    } catch (error) {
      if (error instanceof KeyVaultError) return reply(error.status, error.toBody());
      if (error instanceof SandboxHttpError)
        return reply(
          error.status,
          new KeyVaultError(error.status, KeyVaultErrorCode.badParameter, error.message).toBody(),
        );
      reply(
        500,
        new KeyVaultError(
          500,
          KeyVaultErrorCode.internalServerError,
          'The Key Vault stand-in failed unexpectedly.',
        ).toBody(),
      );
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => void handle(req, res));

  const stats = (): KeyVaultStats => ({
    reads: { ...counters.reads },
    writes: { ...counters.writes },
    calls: Object.fromEntries(Object.entries(counters.calls).map(([op, byStatus]) => [op, { ...byStatus }])),
    unauthorized: counters.unauthorized,
    faults: faults.counts(),
  });

  return {
    url,
    resource,
    stats,
    secretValue: (name) => store.get(name)?.value,
    setFaults: (f) => void faults.set(f),
    clearFaults: () => faults.clear(),
    close: () => closeServer(server),
  };
}

function badName(name: string): Route {
  return {
    operation: 'get',
    handle: () => {
      throw new KeyVaultError(
        400,
        KeyVaultErrorCode.badParameter,
        `The secret name '${name}' is invalid: use 1-127 letters, digits and dashes.`,
      );
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
