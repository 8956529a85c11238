/**
 * Small pieces the token broker's parts share: the in-memory token, the instance id, and failure
 * summaries that never carry a secret.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { BridgeError } from '../platform/errors';
import { AuthError } from './errors';

/** An access token held in memory (never logged; persisted only as the shared Key Vault secret, if on). */
export interface CachedToken {
  accessToken: string;
  /** From the time the redemption was sent + expires_in. */
  expiresAtEpochMs: number;
  /** expiresAtEpochMs minus the margin (capped at half the lifetime). */
  refreshAtEpochMs: number;
}

/** Why a refresh started (logged). */
export type RefreshTrigger = 'cold' | 'expiring' | 'forced' | 'recovered';

/** A token issued at `issuedAtEpochMs` that expires at `expiresAtEpochMs`, renewed `marginMs` early (at most half its life). */
export function cachedToken(
  accessToken: string,
  issuedAtEpochMs: number,
  expiresAtEpochMs: number,
  marginMs: number,
): CachedToken {
  const lifetimeMs = Math.max(0, expiresAtEpochMs - issuedAtEpochMs);
  return { accessToken, expiresAtEpochMs, refreshAtEpochMs: expiresAtEpochMs - Math.min(marginMs, lifetimeMs / 2) };
}

/** `WEBSITE_INSTANCE_ID` (Azure) or the host name, the pid and a random suffix. */
export function defaultInstanceId(): string {
  const host = process.env.WEBSITE_INSTANCE_ID?.slice(0, 16) || hostname();
  return `${host}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** Wraps a stray failure (a bug, a foreign error) so callers see an AuthError; keeps only its name and message. */
export function asAuthError(thrown: unknown): AuthError {
  if (thrown instanceof AuthError) return thrown;
  const summary = errorSummary(thrown);
  return new AuthError(`Access token refresh failed: ${summary}`, {
    retryable: thrown instanceof BridgeError ? thrown.retryable : true,
    cause: new Error(summary),
  });
}

/** `Name: message` of a failure, trimmed (messages here never hold secrets: see errors.ts). */
export function errorSummary(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
  return String(error).slice(0, 500);
}

/** Epoch ms as ISO 8601. */
export function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
