/**
 * Compact JWS (RS256) signing and verification with node:crypto: enough JWT for the stand-ins.
 */
import { createHash, createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';

/** An RSA public key as a JWKS serves it. */
export interface PublicJwk {
  kty: 'RSA';
  n: string;
  e: string;
  kid: string;
  use?: 'sig';
  alg?: 'RS256';
  [member: string]: unknown;
}

/** Claims of a token (registered and Entra-specific). */
export type JwtClaims = Record<string, unknown> & {
  aud?: string;
  iss?: string;
  exp?: number;
  nbf?: number;
  iat?: number;
};

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** Signs `claims` as an RS256 JWT with header `{ typ: 'JWT', alg: 'RS256', kid }`. */
export function signJwt(claims: JwtClaims, options: { privateKey: KeyObject | string; kid: string }): string {
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: options.kid }));
  const payload = base64url(JSON.stringify(claims));
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${payload}`);
  return `${header}.${payload}.${signer.sign(options.privateKey).toString('base64url')}`;
}

/** Why a token was refused. */
export const JwtFailure = {
  malformed: 'malformed',
  unknownKey: 'unknownKey',
  badSignature: 'badSignature',
  expired: 'expired',
  notYetValid: 'notYetValid',
  wrongAudience: 'wrongAudience',
} as const;
export type JwtFailure = (typeof JwtFailure)[keyof typeof JwtFailure];

/** Outcome of {@link verifyJwt}. */
export type JwtVerification = { ok: true; claims: JwtClaims } | { ok: false; failure: JwtFailure };

/** Splits a JWT and decodes header and claims without checking anything (undefined when malformed). */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: JwtClaims } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(claims)) return undefined;
    return { header, claims: claims };
  } catch {
    return undefined;
  }
}

/** Options for {@link verifyJwt}. */
export interface VerifyJwtOptions {
  /** Trusted signing keys, by `kid`. */
  keys: ReadonlyMap<string, KeyObject>;
  /** Accepted `aud` values. */
  audiences: readonly string[];
  nowMs?: number;
}

/** Checks alg (RS256 only), signing key, signature, `exp`, `nbf` and `aud` (no clock skew: one clock). */
export function verifyJwt(token: string, options: VerifyJwtOptions): JwtVerification {
  const decoded = decodeJwt(token);
  if (!decoded || decoded.header.alg !== 'RS256') return { ok: false, failure: JwtFailure.malformed };
  const key = options.keys.get(String(decoded.header.kid));
  if (!key) return { ok: false, failure: JwtFailure.unknownKey };
  const lastDot = token.lastIndexOf('.');
  const verifier = createVerify('RSA-SHA256');
  verifier.update(token.slice(0, lastDot));
  if (!verifier.verify(key, Buffer.from(token.slice(lastDot + 1), 'base64url'))) {
    return { ok: false, failure: JwtFailure.badSignature };
  }
  const { claims } = decoded;
  const nowSeconds = (options.nowMs ?? Date.now()) / 1000;
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds) return { ok: false, failure: JwtFailure.expired };
  if (typeof claims.nbf === 'number' && claims.nbf > nowSeconds) return { ok: false, failure: JwtFailure.notYetValid };
  if (typeof claims.aud !== 'string' || !options.audiences.includes(claims.aud)) {
    return { ok: false, failure: JwtFailure.wrongAudience };
  }
  return { ok: true, claims };
}

/** Turns JWKs into the key map {@link verifyJwt} takes. */
export function keysFromJwks(jwks: readonly PublicJwk[]): Map<string, KeyObject> {
  return new Map(
    jwks.map((jwk) => [jwk.kid, createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: 'jwk' })]),
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A GUID derived from a string (object ids of service principals, stable across runs). */
export function derivedGuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-9${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
