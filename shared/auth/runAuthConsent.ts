/**
 * The one-time sign-in that puts the first refresh token in Key Vault (Secure Application Model):
 * device code flow (RFC 8628) against the configured authority, then a new version of the refresh-token
 * secret. Run by `npm run auth:consent` (scripts/auth-consent.ts), again whenever the broker reports
 * `reauthorization-required`. Prints the user code and the verification URI, never a token.
 */
import type { Agent as HttpsAgent } from 'node:https';
import { OAuthError, RETRY_DEFAULTS } from './constants';
import { AuthError, SecretStoreError, TokenEndpointError } from './errors';
import { realSleep, type RetryDeps } from './retry';
import { SecretStore } from './secretStore';
import { TokenEndpoint } from './tokenEndpoint';
import type { Clock, FetchLike, SecretClientLike } from './types';

/**
 * Scope asked for at the v2 devicecode endpoint: Partner Center's `.default` (the delegated permissions
 * the app registration holds), plus `offline_access` for a refresh token and `openid`.
 * [inferred] Microsoft documents only the v1 `resource=https://api.partner.microsoft.com` form; the v2
 * scope string is derived from it, not found in Partner Center's documentation.
 */
export const CONSENT_SCOPE = 'https://api.partner.microsoft.com/.default offline_access openid';

/** Options of {@link runAuthConsent}. */
export interface AuthConsentOptions {
  secretClient: SecretClientLike;
  authorityHost: string;
  tenantId: string;
  secretNames: { clientId: string; clientSecret: string; refreshToken: string };
  /** @default {@link CONSENT_SCOPE} */
  scope?: string;
  /**
   * Send the client secret with the device-code token request, so the app registration can keep "Allow
   * public client flows" off and the refresh token is bound to the confidential client the broker
   * redeems it as. @default true (skipped when the secret is absent)
   */
  useClientSecret?: boolean;
  /** Where the instructions go (one line each). @default console.log */
  print?: (line: string) => void;
  fetch?: FetchLike;
  httpsAgent?: HttpsAgent;
  clock?: Clock;
  sleep?: (delayMs: number) => Promise<void>;
  /** Upper bound of the wait for the sign-in, on top of the code's own expiry. @default 900000 */
  maxWaitMs?: number;
}

/** What the consent stored. */
export interface AuthConsentResult {
  /** Key Vault version id of the stored refresh token (safe to print). */
  version: string;
  /** Lifetime of the access token that came with it, in seconds. */
  accessTokenLifetimeSeconds: number;
}

/**
 * Runs the device code sign-in and stores the refresh token as a new version of the configured secret.
 * Throws {@link AuthError} (declined, expired, no refresh token) or its subclasses.
 *
 * @example
 * const { version } = await runAuthConsent({ secretClient, authorityHost, tenantId, secretNames });
 */
export async function runAuthConsent(options: AuthConsentOptions): Promise<AuthConsentResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const clock = options.clock ?? { nowMs: () => Date.now() };
  const deps: RetryDeps = { nowMs: () => clock.nowMs(), sleep: options.sleep ?? realSleep, random: Math.random };
  const retry = { ...RETRY_DEFAULTS, maxAttempts: 3 };
  const secrets = new SecretStore({ client: options.secretClient, retry, deps });
  const endpoint = new TokenEndpoint({
    authorityHost: options.authorityHost,
    tenantId: options.tenantId,
    fetch: options.fetch,
    httpsAgent: options.httpsAgent,
    retry,
    deps,
  });

  const clientId = (await secrets.read(options.secretNames.clientId)).value.trim();
  let clientSecret: string | undefined;
  if (options.useClientSecret !== false) {
    try {
      clientSecret = (await secrets.read(options.secretNames.clientSecret)).value;
    } catch (error) {
      if (!(error instanceof SecretStoreError && error.code === 'SecretNotFound')) throw error;
      print(`Key Vault has no '${options.secretNames.clientSecret}': signing in as a public client.`);
    }
  }

  const authorization = await endpoint.startDeviceAuthorization({ clientId, scope: options.scope ?? CONSENT_SCOPE });
  print(`To sign in, open ${authorization.verificationUri} and enter the code ${authorization.userCode}`);
  print('Sign in with the dedicated Partner Center service account (Referrals Admin role) and complete MFA.');
  print(`Waiting for the sign-in (the code expires in ${Math.round(authorization.expiresInSeconds / 60)} min)...`);

  const deadlineEpochMs = deps.nowMs() + Math.min(authorization.expiresInSeconds * 1000, options.maxWaitMs ?? 900_000);
  let intervalMs = Math.max(1, authorization.intervalSeconds) * 1000;
  const maxPolls = Math.ceil((authorization.expiresInSeconds * 1000) / intervalMs) + 10;
  for (let poll = 0; poll < maxPolls && deps.nowMs() < deadlineEpochMs; poll++) {
    await deps.sleep(intervalMs);
    let result;
    try {
      result = await endpoint.pollDeviceAuthorization({ clientId, clientSecret, deviceCode: authorization.deviceCode });
    } catch (error) {
      if (error instanceof TokenEndpointError && error.retryable) continue; // a transient fault: poll again
      if (
        error instanceof TokenEndpointError &&
        (error.oauthError === OAuthError.authorizationDeclined || error.oauthError === OAuthError.accessDenied)
      ) {
        throw new AuthError('The sign-in was declined', { cause: error });
      }
      if (error instanceof TokenEndpointError && error.oauthError === OAuthError.expiredToken) {
        throw new AuthError('The device code expired before the sign-in completed: run the command again', {
          cause: error,
        });
      }
      throw error;
    }
    if (result.status === 'pending') continue;
    if (result.status === 'slowDown') {
      intervalMs += 5_000; // RFC 8628 §3.5
      continue;
    }
    const refreshToken = result.tokens.refreshToken;
    if (!refreshToken) {
      throw new AuthError(
        'The sign-in returned no refresh token: the scope must include offline_access and the app must allow it',
      );
    }
    const written = await secrets.write(options.secretNames.refreshToken, refreshToken, {
      tags: { storedBy: 'auth-consent' },
    });
    print(
      `Signed in. Stored the refresh token in Key Vault secret '${options.secretNames.refreshToken}' as version ${written.version}.`,
    );
    print('Running instances pick it up within 30 s (reauthorization re-check) or at their next token renewal.');
    return { version: written.version, accessTokenLifetimeSeconds: result.tokens.expiresInSeconds };
  }
  throw new AuthError('Gave up waiting for the sign-in: run the command again');
}
