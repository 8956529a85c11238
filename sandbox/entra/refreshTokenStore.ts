/**
 * Refresh tokens of the Entra stand-in: opaque random strings grouped in families, rotated on every
 * redemption, with OAuth 2.1 reuse detection.
 *
 * ```
 * issue(user)      family F: rt1 (active)
 * redeem(rt1)      rt1 used, rt2 active          → new access token + rt2
 * redeem(rt2)      rt2 used, rt3 active          → new access token + rt3
 * redeem(rt1)      replay of a used token: family F revoked (rt3 dies too) → invalid_grant
 * redeem(rt3)      family revoked                → invalid_grant
 * ```
 */
import { randomBytes } from 'node:crypto';
import { derivedGuid } from './jwt';

/** The signed-in user a refresh token family belongs to. */
export interface SandboxUser {
  /** User principal name, e.g. `referrals-admin@partner.example`. */
  upn: string;
  /** Object id (a GUID derived from the UPN, stable across runs). */
  oid: string;
  /** Display name (the UPN's local part). */
  name: string;
}

/** Why a refresh token was refused. */
export const RefreshFailure = {
  unknown: 'unknown',
  revoked: 'revoked',
  reused: 'reused',
  expired: 'expired',
} as const;
export type RefreshFailure = (typeof RefreshFailure)[keyof typeof RefreshFailure];

/** Outcome of {@link RefreshTokenStore.redeem}. */
export type RedeemOutcome =
  | { ok: true; user: SandboxUser; familyId: string; refreshToken: string }
  | { ok: false; failure: RefreshFailure; familyId?: string };

interface Family {
  id: string;
  user: SandboxUser;
  revoked: boolean;
}

interface TokenRecord {
  family: Family;
  used: boolean;
  expiresAtEpochMs: number;
}

/** Builds the {@link SandboxUser} for a UPN or a bare name (`alice` → `alice@sandbox.onmicrosoft.com`). */
export function sandboxUser(user = 'referrals-admin@partner.example'): SandboxUser {
  const upn = user.includes('@') ? user : `${user}@sandbox.onmicrosoft.com`;
  return { upn, oid: derivedGuid(`user:${upn.toLowerCase()}`), name: upn.split('@')[0] };
}

/** Options for {@link RefreshTokenStore}. */
export interface RefreshTokenStoreOptions {
  /** A refresh token not redeemed within this time expires (inactivity). @default 90 days */
  lifetimeSeconds?: number;
  nowMs?: () => number;
}

/** In-memory refresh token families with rotation and reuse detection. */
export class RefreshTokenStore {
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #lifetimeMs: number;
  readonly #nowMs: () => number;
  #families = 0;
  #reuseDetections = 0;

  constructor(options: RefreshTokenStoreOptions = {}) {
    this.#lifetimeMs = (options.lifetimeSeconds ?? 90 * 86_400) * 1000;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Starts a new family for `user` and returns its first refresh token. */
  issue(user: SandboxUser): string {
    this.#families++;
    const family: Family = { id: `family-${this.#families}`, user, revoked: false };
    return this.#mint(family);
  }

  /** Redeems `token`: on success it becomes used and the family's next token is returned. */
  redeem(token: string): RedeemOutcome {
    const record = this.#tokens.get(token);
    if (!record) return { ok: false, failure: RefreshFailure.unknown };
    const { family } = record;
    if (family.revoked) return { ok: false, failure: RefreshFailure.revoked, familyId: family.id };
    if (record.used) {
      family.revoked = true;
      this.#reuseDetections++;
      return { ok: false, failure: RefreshFailure.reused, familyId: family.id };
    }
    if (record.expiresAtEpochMs <= this.#nowMs())
      return { ok: false, failure: RefreshFailure.expired, familyId: family.id };
    record.used = true;
    return { ok: true, user: family.user, familyId: family.id, refreshToken: this.#mint(family) };
  }

  /** Revokes the family `token` belongs to; false when the token is unknown. */
  revoke(token: string): boolean {
    const record = this.#tokens.get(token);
    if (!record) return false;
    record.family.revoked = true;
    return true;
  }

  /** Revokes every family. */
  revokeAll(): void {
    for (const record of this.#tokens.values()) record.family.revoked = true;
  }

  /** Replays of used tokens detected so far (each revoked a family). */
  get reuseDetections(): number {
    return this.#reuseDetections;
  }

  #mint(family: Family): string {
    const token = `0.SBX.${randomBytes(48).toString('base64url')}`;
    this.#tokens.set(token, { family, used: false, expiresAtEpochMs: this.#nowMs() + this.#lifetimeMs });
    return token;
  }
}
