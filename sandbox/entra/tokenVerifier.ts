/**
 * Verification of the Entra stand-in's access tokens, for the services that accept them (Key Vault
 * stand-in, Partner Center simulator). Those services know the Entra stand-in only through an
 * {@link EntraVerification}: its authority URL, tenant and public signing keys.
 */
import https from 'node:https';
import http from 'node:http';
import type { KeyObject } from 'node:crypto';
import { keysFromJwks, verifyJwt, type JwtClaims, type JwtFailure, type PublicJwk } from './jwt';

/** What a resource server needs to trust the Entra stand-in. `RunningEntra.verification` is one. */
export interface EntraVerification {
  /** Origin of the Entra stand-in, e.g. `https://127.0.0.1:7082` (challenges name `${authorityUrl}/${tenantId}`). */
  authorityUrl: string;
  tenantId: string;
  /** The stand-in's public signing keys, as its JWKS serves them. */
  keys: PublicJwk[];
}

/** Outcome of checking an `Authorization` header. */
export type BearerVerification = { ok: true; claims: JwtClaims } | { ok: false; failure: JwtFailure | 'missing' };

/** Options for {@link AccessTokenVerifier}. */
export interface AccessTokenVerifierOptions {
  /** Accepted `aud` values. */
  audiences: readonly string[];
  /** Verified tokens remembered (their expiry is still checked on every use). @default 2000 */
  cacheSize?: number;
  nowMs?: () => number;
}

/**
 * Checks `Authorization: Bearer <jwt>` headers against the Entra stand-in's keys and the accepted
 * audiences. Verified tokens are cached (a signature check per request would dominate the simulator's
 * per-request cost under load); expiry is checked on every use.
 */
export class AccessTokenVerifier {
  readonly #keys: ReadonlyMap<string, KeyObject>;
  readonly #audiences: readonly string[];
  readonly #cacheSize: number;
  readonly #nowMs: () => number;
  readonly #cache = new Map<string, JwtClaims>();

  constructor(verification: EntraVerification, options: AccessTokenVerifierOptions) {
    this.#keys = keysFromJwks(verification.keys);
    this.#audiences = options.audiences;
    this.#cacheSize = options.cacheSize ?? 2000;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Verifies the bearer token of an `Authorization` header value. */
  verify(authorization: string | undefined): BearerVerification {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return { ok: false, failure: 'missing' };
    const token = match[1];
    const nowMs = this.#nowMs();
    const cached = this.#cache.get(token);
    if (cached) {
      if (typeof cached.exp === 'number' && cached.exp > nowMs / 1000) return { ok: true, claims: cached };
      this.#cache.delete(token);
      return { ok: false, failure: 'expired' };
    }
    const result = verifyJwt(token, { keys: this.#keys, audiences: this.#audiences, nowMs });
    if (result.ok) {
      if (this.#cache.size >= this.#cacheSize) this.#cache.clear();
      this.#cache.set(token, result.claims);
    }
    return result;
  }
}

/**
 * Fetches a running Entra stand-in's JWKS (`<entraUrl>/common/discovery/keys`) and builds an
 * {@link EntraVerification}: how a stand-in started alone finds the keys. `caPem` is the sandbox CA
 * (else the process's trust store, which includes `NODE_EXTRA_CA_CERTS`).
 */
export async function fetchEntraVerification(
  entraUrl: string,
  options: { tenantId: string; caPem?: string; timeoutMs?: number },
): Promise<EntraVerification> {
  const origin = entraUrl.replace(/\/+$/, '');
  const url = new URL(`${origin}/common/discovery/keys`);
  const body = await new Promise<string>((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { ca: options.caPem, timeout: options.timeoutMs ?? 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(text)
          : reject(new Error(`JWKS request to ${url.href} answered ${res.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`JWKS request to ${url.href} timed out`)));
    req.on('error', reject);
  });
  const jwks = JSON.parse(body) as { keys?: PublicJwk[] };
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error(`No keys in the JWKS at ${url.href}`);
  return { authorityUrl: origin, tenantId: options.tenantId, keys: jwks.keys };
}
