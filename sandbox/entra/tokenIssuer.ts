/**
 * Mints the Entra stand-in's signed tokens: App+User and app-only access tokens, and ID tokens.
 * The RS256 key pair is generated at construction (one per run) and published as a JWK.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { derivedGuid, signJwt, type JwtClaims, type PublicJwk } from './jwt';
import type { SandboxUser } from './refreshTokenStore';

/** Token format version: v1 (`/oauth2/token`, `resource`) or v2 (`/oauth2/v2.0/token`, `scope`). */
export const TokenVersion = { v1: '1.0', v2: '2.0' } as const;
export type TokenVersion = (typeof TokenVersion)[keyof typeof TokenVersion];

/** What goes into one access token. */
export interface AccessTokenRequest {
  audience: string;
  clientId: string;
  /** The signed-in user; absent for app-only (client credentials) tokens. */
  user?: SandboxUser;
  /** Delegated permissions (App+User), e.g. `user_impersonation`. */
  scp?: string;
  version: TokenVersion;
  /** @default the issuer's configured lifetime */
  lifetimeSeconds?: number;
  /** Authentication methods of the user. @default ['pwd', 'mfa'] */
  amr?: string[];
  /** Extra or overriding claims (tests). */
  claims?: Record<string, unknown>;
}

/** Options for {@link TokenIssuer}. */
export interface TokenIssuerOptions {
  /** Origin of the stand-in (issuer prefix). */
  authorityUrl: string;
  tenantId: string;
  /** @default 3600 */
  accessTokenLifetimeSeconds?: number;
  nowMs?: () => number;
}

/** Signs the stand-in's tokens with a key generated per run. */
export class TokenIssuer {
  /** The public half of the signing key, as the JWKS serves it. */
  readonly publicJwk: PublicJwk;
  /** Lifetime of access tokens unless a request says otherwise. */
  readonly accessTokenLifetimeSeconds: number;
  readonly #privateKey: KeyObject;
  readonly #kid: string;
  readonly #authorityUrl: string;
  readonly #tenantId: string;
  readonly #nowMs: () => number;

  constructor(options: TokenIssuerOptions) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#privateKey = privateKey;
    this.#kid = randomBytes(12).toString('base64url');
    const jwk = publicKey.export({ format: 'jwk' });
    this.publicJwk = { kty: 'RSA', use: 'sig', alg: 'RS256', kid: this.#kid, n: String(jwk.n), e: String(jwk.e) };
    this.#authorityUrl = options.authorityUrl;
    this.#tenantId = options.tenantId;
    this.accessTokenLifetimeSeconds = options.accessTokenLifetimeSeconds ?? 3600;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Issuer claim for a token version (v2: `<authority>/<tenant>/v2.0`, as the OpenID configuration says). */
  issuer(version: TokenVersion): string {
    return version === TokenVersion.v2
      ? `${this.#authorityUrl}/${this.#tenantId}/v2.0`
      : `${this.#authorityUrl}/${this.#tenantId}/`;
  }

  /** Mints an access token; returns it with its expiry (epoch seconds). */
  accessToken(request: AccessTokenRequest): { token: string; expiresOnEpochSeconds: number; lifetimeSeconds: number } {
    const nowSeconds = Math.floor(this.#nowMs() / 1000);
    const lifetimeSeconds = request.lifetimeSeconds ?? this.accessTokenLifetimeSeconds;
    const exp = nowSeconds + lifetimeSeconds;
    const v1 = request.version === TokenVersion.v1;
    const base: JwtClaims = {
      aud: request.audience,
      iss: this.issuer(request.version),
      iat: nowSeconds,
      nbf: nowSeconds,
      exp,
      tid: this.#tenantId,
      ver: request.version,
      uti: randomBytes(16).toString('base64url'),
      ...(v1 ? { appid: request.clientId, appidacr: '1' } : { azp: request.clientId, azpacr: '1' }),
    };
    const claims: JwtClaims = request.user
      ? {
          ...base,
          oid: request.user.oid,
          sub: request.user.oid,
          upn: request.user.upn,
          unique_name: request.user.upn,
          name: request.user.name,
          scp: request.scp ?? 'user_impersonation',
          amr: request.amr ?? ['pwd', 'mfa'],
          idtyp: 'user',
        }
      : {
          ...base,
          oid: derivedGuid(`sp:${request.clientId}`),
          sub: derivedGuid(`sp:${request.clientId}`),
          roles: [],
          idtyp: 'app',
        };
    const token = signJwt({ ...claims, ...request.claims }, { privateKey: this.#privateKey, kid: this.#kid });
    return { token, expiresOnEpochSeconds: exp, lifetimeSeconds };
  }

  /** Mints an ID token for `user` (audience: the client). */
  idToken(user: SandboxUser, clientId: string, version: TokenVersion): string {
    const nowSeconds = Math.floor(this.#nowMs() / 1000);
    return signJwt(
      {
        aud: clientId,
        iss: this.issuer(version),
        iat: nowSeconds,
        nbf: nowSeconds,
        exp: nowSeconds + 3600,
        tid: this.#tenantId,
        oid: user.oid,
        sub: user.oid,
        preferred_username: user.upn,
        upn: user.upn,
        name: user.name,
        ver: version,
      },
      { privateKey: this.#privateKey, kid: this.#kid },
    );
  }
}
