/**
 * The Entra ID token endpoint stand-in, served over HTTPS on 127.0.0.1.
 *
 * - `POST /{tenant}/oauth2/token` (v1, `resource`) and `/{tenant}/oauth2/v2.0/token` (v2, `scope`):
 *   `refresh_token` (App+User, rotated on every redemption, replay revokes the family),
 *   `client_credentials` (app-only) and the device code grant.
 * - `POST /{tenant}/oauth2/v2.0/devicecode`, `GET|POST /devicelogin` (approve a user code by hand).
 * - What MSAL (`@azure/identity`) reads: `/{tenant}/v2.0/.well-known/openid-configuration`, the JWKS at
 *   `/{tenant}/discovery/v2.0/keys` and `/common/discovery/keys`, and `/common/discovery/instance`.
 * - Control surface (loopback, no auth): `/_sandbox/faults`, `/_sandbox/stats`, `/_sandbox/refresh-tokens`,
 *   `/_sandbox/revoke`, `/_sandbox/device/approve`.
 *
 * Errors use Entra's body shape and AADSTS codes (see docs/sandbox.md for the table).
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID, timingSafeEqual } from 'node:crypto';
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
import { DeviceCodeStore } from './deviceCodeStore';
import { OAuthError, OAuthErrorCode } from './errors';
import type { PublicJwk } from './jwt';
import { RefreshFailure, RefreshTokenStore, sandboxUser, type SandboxUser } from './refreshTokenStore';
import { TokenIssuer, TokenVersion } from './tokenIssuer';
import type { EntraVerification } from './tokenVerifier';

/** A registered confidential client (app registration). */
export interface EntraClient {
  clientId: string;
  clientSecret: string;
}

/** Options for {@link startEntra}. */
export interface StartEntraOptions {
  tls: SandboxTls;
  /** @default 0 (a free port) */
  port?: number;
  clients: EntraClient[];
  /** Lifetime of issued access tokens. @default 3600 */
  accessTokenLifetimeSeconds?: number;
  /** A refresh token not redeemed within this time expires (AADSTS700082). @default 90 days */
  refreshTokenLifetimeSeconds?: number;
  /** @default 'sandbox-partner-tenant' */
  tenantId?: string;
  /** Seed of the fault-injection PRNG. @default 1 */
  seed?: number;
  faults?: FaultConfig;
  /** Who signs in when a device code is approved. @default 'referrals-admin@partner.example' */
  defaultUser?: string;
  deviceCode?: {
    /** Approve a code automatically at its Nth token poll (0 or absent: only `POST /_sandbox/device/approve`). @default 2 */
    autoApproveAfterPolls?: number;
    /** `interval` told to the client. @default 5 */
    intervalSeconds?: number;
    /** @default 900 */
    lifetimeSeconds?: number;
  };
  nowMs?: () => number;
}

/** Counters served by `GET /_sandbox/stats`. */
export interface EntraStats {
  /** Requests by operation (token, devicecode, discovery, jwks, devicelogin). */
  requests: Record<string, number>;
  /** Successful token answers by grant type. */
  redemptions: Record<string, number>;
  /** Replays of used refresh tokens (each revoked a family). */
  reuseDetections: number;
  /** Error answers by OAuth error code. */
  failures: Record<string, number>;
  /** Error answers by AADSTS code. */
  failuresByAadsts: Record<string, number>;
  accessTokensIssued: number;
  refreshTokensIssued: number;
  faults: Record<FaultKind, number>;
}

/** Options of {@link RunningEntra.issueAccessToken} (tests: tokens with chosen claims or lifetimes). */
export interface IssueAccessTokenOptions {
  audience: string;
  /** UPN of the user (App+User token); `null` for an app-only token. @default the default user */
  user?: string | null;
  /** @default the first registered client */
  clientId?: string;
  /** Negative values mint an already expired token. @default the configured lifetime */
  lifetimeSeconds?: number;
  /** @default ['pwd', 'mfa'] */
  amr?: string[];
  claims?: Record<string, unknown>;
  /** @default '1.0' */
  version?: TokenVersion;
}

/** A running Entra stand-in. */
export interface RunningEntra {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** Same as `url`: what `AZURE_AUTHORITY_HOST` / `ENTRA_AUTHORITY_HOST` take. */
  authorityHost: string;
  tenantId: string;
  /** v1 token endpoint of the tenant. */
  tokenUrl: string;
  /** v2 token endpoint of the tenant. */
  tokenUrlV2: string;
  /** The public signing key. */
  publicJwk: PublicJwk;
  /** `<url>/<tenant>/discovery/v2.0/keys` */
  jwksUrl: string;
  /** What the Key Vault stand-in and the Partner Center simulator take as `entra`. */
  verification: EntraVerification;
  /** Mints the first refresh token of a new family for `user` (a UPN). */
  issueRefreshToken(user?: string): string;
  /** Mints an access token directly (tests). */
  issueAccessToken(options: IssueAccessTokenOptions): string;
  /** Revokes the family of `refreshToken`; false when unknown. */
  revokeRefreshToken(refreshToken: string): boolean;
  /** Revokes every refresh token family. */
  revokeAll(): void;
  /** Approves the device code with `userCode`, or every pending one. Returns how many. */
  approveDeviceCode(userCode?: string): number;
  stats(): EntraStats;
  setFaults(faults: FaultConfig): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const DEFAULT_TENANT_ID = 'sandbox-partner-tenant';
/** Scopes that ask for OpenID Connect artefacts, not for a resource. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
/** Audience of tokens asked only for OIDC scopes (Microsoft Graph), as Entra does. */
const GRAPH_AUDIENCE = 'https://graph.microsoft.com';
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

type Form = URLSearchParams;
interface TokenTarget {
  audience: string;
  scp: string;
  /** The `scope` a v2 answer reports. */
  grantedScope: string;
  openid: boolean;
}

/** Starts the Entra stand-in; see the module comment for the routes. */
export async function startEntra(options: StartEntraOptions): Promise<RunningEntra> {
  const tenantId = options.tenantId ?? DEFAULT_TENANT_ID;
  const nowMs = options.nowMs ?? Date.now;
  const clients = new Map(options.clients.map((c) => [c.clientId, c]));
  const defaultUser = sandboxUser(options.defaultUser);
  const refreshTokens = new RefreshTokenStore({ lifetimeSeconds: options.refreshTokenLifetimeSeconds, nowMs });
  const autoApprove = options.deviceCode?.autoApproveAfterPolls ?? 2;
  const deviceCodes = new DeviceCodeStore({
    lifetimeSeconds: options.deviceCode?.lifetimeSeconds,
    autoApproveAfterPolls: autoApprove > 0 ? autoApprove : undefined,
    defaultUser,
    nowMs,
  });
  const intervalSeconds = options.deviceCode?.intervalSeconds ?? 5;
  const faults = new FaultInjector({
    seed: options.seed,
    faults: options.faults,
    defaultDropOperations: ['token'],
    nowMs,
  });
  const counters = {
    requests: {} as Record<string, number>,
    redemptions: { refresh_token: 0, client_credentials: 0, device_code: 0 } as Record<string, number>,
    failures: {} as Record<string, number>,
    failuresByAadsts: {} as Record<string, number>,
    accessTokensIssued: 0,
    refreshTokensIssued: 0,
  };

  const server = https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem });
  const port = await listenOnLoopback(server, options.port);
  const url = `https://127.0.0.1:${port}`;
  const issuer = new TokenIssuer({
    authorityUrl: url,
    tenantId,
    accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds,
    nowMs,
  });
  const allowedTenants = new Set([tenantId, 'common', 'organizations']);

  const issueRefreshToken = (user: SandboxUser): string => {
    counters.refreshTokensIssued++;
    return refreshTokens.issue(user);
  };

  // ---------------------------------------------------------------------------------------------
  // Token endpoint
  // ---------------------------------------------------------------------------------------------

  const oauth = (status: number, error: OAuthErrorCode, aadsts: number, description: string) =>
    new OAuthError(description, { status, error, aadsts });

  const required = (form: Form, name: string): string => {
    const value = form.get(name);
    if (!value)
      throw oauth(
        400,
        OAuthErrorCode.invalidRequest,
        900144,
        `The request body must contain the following parameter: '${name}'.`,
      );
    return value;
  };

  const authenticateClient = (form: Form, authorization: string | undefined, secretRequired: boolean): EntraClient => {
    let clientId = form.get('client_id') ?? undefined;
    let secret = form.get('client_secret') ?? undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
    if (basic) {
      const [id, ...rest] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      clientId ??= decodeURIComponent(id);
      secret ??= decodeURIComponent(rest.join(':'));
    }
    if (!clientId)
      throw oauth(
        400,
        OAuthErrorCode.invalidRequest,
        900144,
        "The request body must contain the following parameter: 'client_id'.",
      );
    const client = clients.get(clientId);
    if (!client) {
      throw oauth(
        401,
        OAuthErrorCode.invalidClient,
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant.`,
      );
    }
    if (secret === undefined || secret === '') {
      if (!secretRequired) return client;
      throw oauth(
        401,
        OAuthErrorCode.invalidClient,
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    if (!sameSecret(secret, client.clientSecret)) {
      throw oauth(
        401,
        OAuthErrorCode.invalidClient,
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
      );
    }
    return client;
  };

  /** Audience and permissions from `resource` (v1) or `scope` (v2). */
  const resolveTarget = (version: TokenVersion, form: Form, appOnly: boolean): TokenTarget => {
    const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
    const openid = scopes.includes('openid');
    if (version === TokenVersion.v1) {
      const resource = required(form, 'resource').replace(/\/+$/, '');
      return { audience: resource, scp: 'user_impersonation', grantedScope: 'user_impersonation', openid };
    }
    if (scopes.length === 0) required(form, 'scope');
    const resourceScopes = scopes.filter((s) => !OIDC_SCOPES.has(s));
    if (appOnly && (resourceScopes.length !== 1 || !resourceScopes[0].endsWith('/.default'))) {
      throw oauth(
        400,
        OAuthErrorCode.invalidScope,
        1002012,
        `The provided value for scope ${scopes.join(' ')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const parsed = resourceScopes.map((scope) => {
      const slash = scope.lastIndexOf('/');
      return scope.includes('://') && slash > scope.indexOf('://') + 2
        ? { resource: scope.slice(0, slash), permission: scope.slice(slash + 1) }
        : { resource: GRAPH_AUDIENCE, permission: scope };
    });
    const resources = new Set(parsed.map((p) => p.resource));
    if (resources.size > 1) {
      throw oauth(
        400,
        OAuthErrorCode.invalidScope,
        28000,
        `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scopes.join(' ')} is not valid.`,
      );
    }
    const audience = parsed[0]?.resource ?? GRAPH_AUDIENCE;
    const permissions = parsed.map((p) => (p.permission === '.default' ? 'user_impersonation' : p.permission));
    const scp = permissions.length > 0 ? [...new Set(permissions)].join(' ') : 'openid';
    const granted = [...permissions.map((p) => `${audience}/${p}`), ...scopes.filter((s) => OIDC_SCOPES.has(s))];
    return { audience, scp, grantedScope: [...new Set(granted)].join(' '), openid };
  };

  const tokenAnswer = (
    version: TokenVersion,
    form: Form,
    client: EntraClient,
    target: TokenTarget,
    user: SandboxUser | undefined,
    refreshToken: string | undefined,
  ): Record<string, unknown> => {
    const access = issuer.accessToken({
      audience: target.audience,
      clientId: client.clientId,
      user,
      scp: user ? target.scp : undefined,
      version,
    });
    counters.accessTokensIssued++;
    const idToken = user && target.openid ? issuer.idToken(user, client.clientId, version) : undefined;
    const nowSeconds = Math.floor(nowMs() / 1000);
    if (version === TokenVersion.v1) {
      return {
        token_type: 'Bearer',
        ...(user ? { scope: target.scp } : {}),
        expires_in: String(access.lifetimeSeconds),
        ext_expires_in: String(access.lifetimeSeconds),
        expires_on: String(access.expiresOnEpochSeconds),
        not_before: String(nowSeconds),
        resource: target.audience,
        access_token: access.token,
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
        ...(idToken ? { id_token: idToken } : {}),
      };
    }
    const clientInfo =
      user && form.get('client_info') === '1'
        ? Buffer.from(JSON.stringify({ uid: user.oid, utid: tenantId })).toString('base64url')
        : undefined;
    return {
      token_type: 'Bearer',
      scope: user ? target.grantedScope : `${target.audience}/.default`,
      expires_in: access.lifetimeSeconds,
      ext_expires_in: access.lifetimeSeconds,
      access_token: access.token,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      ...(idToken ? { id_token: idToken } : {}),
      ...(clientInfo ? { client_info: clientInfo } : {}),
    };
  };

  const redeem = (version: TokenVersion, form: Form, authorization: string | undefined): Record<string, unknown> => {
    const grantType = required(form, 'grant_type');
    switch (grantType) {
      case 'refresh_token': {
        const client = authenticateClient(form, authorization, true);
        const presented = required(form, 'refresh_token');
        const target = resolveTarget(version, form, false);
        const outcome = refreshTokens.redeem(presented);
        if (!outcome.ok) throw refreshFailure(outcome.failure);
        counters.refreshTokensIssued++;
        counters.redemptions.refresh_token++;
        return tokenAnswer(version, form, client, target, outcome.user, outcome.refreshToken);
      }
      case 'client_credentials': {
        const client = authenticateClient(form, authorization, true);
        const target = resolveTarget(version, form, true);
        counters.redemptions.client_credentials++;
        return tokenAnswer(version, form, client, target, undefined, undefined);
      }
      case DEVICE_CODE_GRANT: {
        const client = authenticateClient(form, authorization, false);
        const deviceCode = form.get('device_code') ?? required(form, 'code');
        const poll = deviceCodes.poll(deviceCode, client.clientId);
        switch (poll.status) {
          case 'pending':
            throw oauth(
              400,
              OAuthErrorCode.authorizationPending,
              70016,
              'OAuth 2.0 device flow error. Authorization is pending. Continue polling.',
            );
          case 'expired':
            throw oauth(400, OAuthErrorCode.expiredToken, 70019, 'Verification code expired.');
          case 'approved': {
            const scopeForm = new URLSearchParams(form);
            if (!scopeForm.get('scope') && !scopeForm.get('resource')) scopeForm.set('scope', poll.grant.scope);
            const target = resolveTarget(version, scopeForm, false);
            counters.redemptions.device_code++;
            return tokenAnswer(
              version,
              form,
              client,
              target,
              poll.grant.approvedUser,
              issueRefreshToken(poll.grant.approvedUser),
            );
          }
          default:
            throw oauth(
              400,
              OAuthErrorCode.invalidGrant,
              70000,
              "The provided value for the input parameter 'device_code' is not valid.",
            );
        }
      }
      default:
        throw oauth(
          400,
          OAuthErrorCode.unsupportedGrantType,
          70003,
          `The app requested an unsupported grant type '${grantType}'.`,
        );
    }
  };

  const refreshFailure = (failure: RefreshFailure): OAuthError => {
    switch (failure) {
      case RefreshFailure.reused:
        return oauth(
          400,
          OAuthErrorCode.invalidGrant,
          70000,
          'The provided grant is invalid: this refresh token was already redeemed. Refresh token reuse detected; every refresh token of this sign-in has been revoked.',
        );
      case RefreshFailure.revoked:
        return oauth(
          400,
          OAuthErrorCode.invalidGrant,
          50173,
          'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.',
        );
      case RefreshFailure.expired:
        return oauth(400, OAuthErrorCode.invalidGrant, 700082, 'The refresh token has expired due to inactivity.');
      default:
        return oauth(400, OAuthErrorCode.invalidGrant, 9002313, 'Invalid request. Request is malformed or invalid.');
    }
  };

  const startDeviceCode = (form: Form): Record<string, unknown> => {
    const clientId = required(form, 'client_id');
    if (!clients.has(clientId)) {
      throw oauth(
        400,
        OAuthErrorCode.invalidClient,
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenantId}'.`,
      );
    }
    const scope = required(form, 'scope');
    const grant = deviceCodes.start(clientId, scope);
    const verificationUri = `${url}/devicelogin`;
    return {
      user_code: grant.userCode,
      device_code: grant.deviceCode,
      verification_uri: verificationUri,
      expires_in: deviceCodes.lifetimeSeconds,
      interval: intervalSeconds,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${grant.userCode} to authenticate.`,
    };
  };

  // ---------------------------------------------------------------------------------------------
  // Discovery documents
  // ---------------------------------------------------------------------------------------------

  const openIdConfiguration = (tenant: string, version: TokenVersion): Record<string, unknown> => {
    const base = `${url}/${tenant}`;
    const issuerTenant = tenant === tenantId ? tenantId : '{tenantid}';
    const v2 = version === TokenVersion.v2;
    return {
      token_endpoint: v2 ? `${base}/oauth2/v2.0/token` : `${base}/oauth2/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: v2 ? `${base}/discovery/v2.0/keys` : `${base}/discovery/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: v2 ? `${url}/${issuerTenant}/v2.0` : `${url}/${issuerTenant}/`,
      request_uri_parameter_supported: false,
      authorization_endpoint: v2 ? `${base}/oauth2/v2.0/authorize` : `${base}/oauth2/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: v2 ? `${base}/oauth2/v2.0/logout` : `${base}/oauth2/logout`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'name', 'oid', 'tid', 'upn', 'preferred_username'],
      tenant_region_scope: null,
      cloud_instance_name: '127.0.0.1',
      cloud_graph_host_name: '127.0.0.1',
      msgraph_host: '127.0.0.1',
    };
  };

  const instanceDiscovery = (): Record<string, unknown> => {
    const host = `127.0.0.1:${port}`;
    return {
      tenant_discovery_endpoint: `${url}/${tenantId}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  };

  // ---------------------------------------------------------------------------------------------
  // HTTP
  // ---------------------------------------------------------------------------------------------

  const fail = (error: OAuthError, correlationId: string, res: ServerResponse) => {
    increment(counters.failures, error.error);
    increment(counters.failuresByAadsts, `AADSTS${error.aadsts}`);
    sendJson(res, error.status, error.toBody(correlationId), {
      'client-request-id': correlationId,
      'x-ms-request-id': randomUUID(),
      'Cache-Control': 'no-store, no-cache',
    });
  };

  const injectedFailure = (reject: NonNullable<FaultPlan['reject']>): OAuthError => {
    if (reject.kind === 'rateLimit') {
      return new OAuthError('There are too many incoming requests. Please try again later.', {
        status: 429,
        error: OAuthErrorCode.temporarilyUnavailable,
        aadsts: 90055,
      });
    }
    return new OAuthError('A transient error has occurred. Please try again.', {
      status: reject.status,
      error: reject.status === 503 ? OAuthErrorCode.temporarilyUnavailable : OAuthErrorCode.serverError,
      aadsts: 90033,
    });
  };

  const control = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (!isLoopback(req.socket.remoteAddress)) {
      sendJson(res, 403, {
        error: 'forbidden',
        error_description: 'The control surface answers loopback callers only.',
      });
      return;
    }
    const method = req.method ?? 'GET';
    if (await serveFaultControl(req, res, faults)) return;
    const body =
      method === 'POST' ? ((parseJson(await readBody(req)) as Record<string, unknown> | undefined) ?? {}) : {};
    if (path === '/_sandbox/stats' && method === 'GET') {
      return sendJson(res, 200, stats());
    } else if (path === '/_sandbox/refresh-tokens' && method === 'POST') {
      const user = sandboxUser(typeof body.user === 'string' ? body.user : options.defaultUser);
      return sendJson(res, 201, { refresh_token: issueRefreshToken(user), user: user.upn });
    } else if (path === '/_sandbox/revoke' && method === 'POST') {
      if (body.all === true) {
        refreshTokens.revokeAll();
        return sendJson(res, 200, { revoked: 'all' });
      }
      if (typeof body.refresh_token !== 'string')
        throw new SandboxHttpError(400, 'Give { "refresh_token": "..." } or { "all": true }');
      return sendJson(res, 200, { revoked: refreshTokens.revoke(body.refresh_token) });
    } else if (path === '/_sandbox/device/approve' && method === 'POST') {
      const userCode = typeof body.user_code === 'string' ? body.user_code : undefined;
      const user = typeof body.user === 'string' ? sandboxUser(body.user) : undefined;
      return sendJson(res, 200, { approved: deviceCodes.approve(userCode, user) });
    }
    sendJson(res, 404, { error: 'not_found', error_description: `No control route ${method} ${path}` });
  };

  const deviceLogin = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let message = '';
    if (req.method === 'POST') {
      const form = new URLSearchParams((await readBody(req)).toString('utf8'));
      const code = form.get('user_code') ?? '';
      message =
        deviceCodes.approve(code) > 0
          ? `<p>Code ${escapeHtml(code)} approved: you can close this page.</p>`
          : `<p>No pending code ${escapeHtml(code)}.</p>`;
    }
    const html = `<!doctype html><title>Sandbox sign-in</title><h1>Co-sell bridge sandbox: device sign-in</h1>${message}
<form method="post"><label>Code <input name="user_code" autofocus></label> <button>Approve</button></form>
<p>Signs in as ${escapeHtml(defaultUser.upn)} (with MFA). Nothing leaves this machine.</p>`;
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  };

  type Route =
    | { operation: 'token'; version: TokenVersion }
    | { operation: 'devicecode' }
    | { operation: 'discovery'; document: 'openid-v1' | 'openid-v2' | 'instance' }
    | { operation: 'jwks' };

  const route = (method: string, path: string): { tenant: string; route: Route } | undefined => {
    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^\/([^/]+)\/oauth2\/token$/.exec(path)))
      return { tenant: m[1], route: { operation: 'token', version: TokenVersion.v1 } };
    if (method === 'POST' && (m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path)))
      return { tenant: m[1], route: { operation: 'token', version: TokenVersion.v2 } };
    if (method === 'POST' && (m = /^\/([^/]+)\/oauth2\/v2\.0\/devicecode$/.exec(path)))
      return { tenant: m[1], route: { operation: 'devicecode' } };
    if (method !== 'GET') return undefined;
    if ((m = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path)))
      return { tenant: m[1], route: { operation: 'discovery', document: 'openid-v2' } };
    if ((m = /^\/([^/]+)\/\.well-known\/openid-configuration$/.exec(path)))
      return { tenant: m[1], route: { operation: 'discovery', document: 'openid-v1' } };
    if (path === '/common/discovery/instance')
      return { tenant: 'common', route: { operation: 'discovery', document: 'instance' } };
    if ((m = /^\/([^/]+)\/discovery(?:\/v2\.0)?\/keys$/.exec(path)))
      return { tenant: m[1], route: { operation: 'jwks' } };
    return undefined;
  };

  const answer = (
    matched: { tenant: string; route: Route },
    body: Buffer,
    req: IncomingMessage,
  ): Record<string, unknown> => {
    const { tenant, route: r } = matched;
    if (!allowedTenants.has(tenant)) {
      throw oauth(
        400,
        OAuthErrorCode.invalidRequest,
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    }
    switch (r.operation) {
      case 'token':
        return redeem(r.version, new URLSearchParams(body.toString('utf8')), req.headers.authorization);
      case 'devicecode':
        return startDeviceCode(new URLSearchParams(body.toString('utf8')));
      case 'jwks':
        return { keys: [issuer.publicJwk] };
      case 'discovery':
        if (r.document === 'instance') return instanceDiscovery();
        return openIdConfiguration(tenant, r.document === 'openid-v2' ? TokenVersion.v2 : TokenVersion.v1);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const header = req.headers['client-request-id'];
    const correlationId = (Array.isArray(header) ? header[0] : header) ?? randomUUID();
    try {
      if (path.startsWith('/_sandbox/')) return await control(req, res, path);
      if (path === '/devicelogin') {
        increment(counters.requests, 'devicelogin');
        return await deviceLogin(req, res);
      }
      const matched = route(method, path);
      if (!matched) {
        sendJson(res, 404, { error: 'not_found', error_description: `No route ${method} ${path}` });
        return;
      }
      increment(counters.requests, matched.route.operation);
      const body = method === 'POST' ? await readBody(req) : Buffer.alloc(0);
      const plan = faults.plan(matched.route.operation);
      if (plan.delayMs > 0) await delay(plan.delayMs);
      if (plan.reject) {
        const error = injectedFailure(plan.reject);
        increment(counters.failures, error.error);
        sendJson(res, error.status, error.toBody(correlationId), {
          'client-request-id': correlationId,
          ...(plan.reject.retryAfterSeconds !== undefined ? { 'Retry-After': plan.reject.retryAfterSeconds } : {}),
        });
        return;
      }
      if (plan.dropAfterCommit) {
        try {
          answer(matched, body, req);
        } catch {
          // The answer is lost either way.
        }
        req.socket.destroy();
        return;
      }
      sendJson(res, 200, answer(matched, body, req), {
        'client-request-id': correlationId,
        'x-ms-request-id': randomUUID(),
        'Cache-Control': 'no-store, no-cache',
      });
    } catch (error) {
      if (error instanceof OAuthError) return fail(error, correlationId, res);
      if (error instanceof SandboxHttpError) {
        sendJson(res, error.status, { error: 'invalid_request', error_description: error.message });
        return;
      }
      sendJson(res, 500, { error: 'server_error', error_description: 'The Entra stand-in failed unexpectedly.' });
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => void handle(req, res));

  const stats = (): EntraStats => ({
    requests: { ...counters.requests },
    redemptions: { ...counters.redemptions },
    reuseDetections: refreshTokens.reuseDetections,
    failures: { ...counters.failures },
    failuresByAadsts: { ...counters.failuresByAadsts },
    accessTokensIssued: counters.accessTokensIssued,
    refreshTokensIssued: counters.refreshTokensIssued,
    faults: faults.counts(),
  });

  const firstClientId = options.clients[0]?.clientId ?? 'sandbox-client';
  return {
    url,
    authorityHost: url,
    tenantId,
    tokenUrl: `${url}/${tenantId}/oauth2/token`,
    tokenUrlV2: `${url}/${tenantId}/oauth2/v2.0/token`,
    publicJwk: issuer.publicJwk,
    jwksUrl: `${url}/${tenantId}/discovery/v2.0/keys`,
    verification: { authorityUrl: url, tenantId, keys: [issuer.publicJwk] },
    issueRefreshToken: (user) => issueRefreshToken(sandboxUser(user ?? options.defaultUser)),
    issueAccessToken: (o) =>
      issuer.accessToken({
        audience: o.audience,
        clientId: o.clientId ?? firstClientId,
        user: o.user === null ? undefined : sandboxUser(o.user ?? options.defaultUser),
        version: o.version ?? TokenVersion.v1,
        lifetimeSeconds: o.lifetimeSeconds,
        amr: o.amr,
        claims: o.claims,
      }).token,
    revokeRefreshToken: (token) => refreshTokens.revoke(token),
    revokeAll: () => refreshTokens.revokeAll(),
    approveDeviceCode: (userCode) => deviceCodes.approve(userCode),
    stats,
    setFaults: (f) => void faults.set(f),
    clearFaults: () => faults.clear(),
    close: () => closeServer(server),
  };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
