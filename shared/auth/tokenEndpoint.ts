/**
 * The Entra OAuth endpoints the bridge calls, over node-fetch:
 * - v1 `POST {authority}/{tenant}/oauth2/token` with `grant_type=refresh_token` and `resource=` (the
 *   Secure Application Model redemption Partner Center documents);
 * - v2 `POST {authority}/{tenant}/oauth2/v2.0/devicecode` and `/oauth2/v2.0/token` with the device code
 *   grant (RFC 8628), for the one-time consent command.
 *
 * Token values only ever travel in request and response bodies; errors carry the OAuth error code,
 * AADSTS codes and Entra's correlation id, never a body.
 */
import type { Agent as HttpsAgent } from 'node:https';
import nodeFetch from 'node-fetch';
import { z } from 'zod';
import { OAuthError } from './constants';
import { TokenEndpointError } from './errors';
import { parseRetryAfterMs, platformRetryPolicy, withRetry, type RetryDeps, type RetryPolicy } from './retry';
import type { FetchLike } from './types';

/** Tokens from a successful redemption. */
export interface RedeemedTokens {
  accessToken: string;
  /** Lifetime the endpoint granted (`expires_in`), in seconds. */
  expiresInSeconds: number;
  /** The rotated refresh token, when the endpoint issued one. */
  refreshToken?: string;
}

/** A started device authorization (RFC 8628 §3.2). */
export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  expiresInSeconds: number;
  /** Minimum poll interval, in seconds. */
  intervalSeconds: number;
  /** Entra's ready-made instruction text. */
  message?: string;
}

/** One device-code poll: still waiting, asked to slow down, or done. */
export type DevicePollResult =
  { status: 'pending' } | { status: 'slowDown' } | { status: 'approved'; tokens: RedeemedTokens };

/** Options of {@link TokenEndpoint}. */
export interface TokenEndpointOptions {
  authorityHost: string;
  tenantId: string;
  fetch?: FetchLike;
  httpsAgent?: HttpsAgent;
  retry: RetryPolicy;
  deps: RetryDeps;
  /** Called once per redemption attempt that got an HTTP answer, with its status (the broker's counters). */
  onRedemptionAnswered?: (status: number) => void;
  /** Called before each backoff. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/)]).transform(Number),
  refresh_token: z.string().min(1).optional(),
});

const errorResponseSchema = z.object({
  error: z.string().min(1),
  error_description: z.string().optional(),
  error_codes: z.array(z.number()).optional(),
  correlation_id: z.string().optional(),
});

const deviceAuthorizationSchema = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string().min(1).optional(),
  verification_url: z.string().min(1).optional(),
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/)]).transform(Number),
  interval: z
    .union([z.number(), z.string().regex(/^\d+$/)])
    .transform(Number)
    .optional(),
  message: z.string().optional(),
});

/** Statuses and OAuth errors after which the same request may succeed. */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Client of Entra's token and device-code endpoints for one tenant. */
export class TokenEndpoint {
  readonly #o: TokenEndpointOptions;
  readonly #fetch: FetchLike;
  readonly #base: string;

  constructor(options: TokenEndpointOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? nodeFetch;
    this.#base = `${options.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(options.tenantId)}/oauth2`;
  }

  /** The v1 token endpoint URL (no secrets in it: safe to log). */
  get tokenUrl(): string {
    return `${this.#base}/token`;
  }

  /**
   * Redeems `refreshToken` for an access token to `resource` (v1 endpoint, `scope=openid`). Transient
   * failures are retried: a retry after a lost answer can only replay a token that, if it was rotated,
   * is already lost to us, so retrying never makes things worse. Throws {@link TokenEndpointError}.
   */
  async redeemRefreshToken(
    request: { clientId: string; clientSecret: string; refreshToken: string; resource: string },
    options: { deadlineEpochMs?: number } = {},
  ): Promise<RedeemedTokens> {
    const form = {
      grant_type: 'refresh_token',
      refresh_token: request.refreshToken,
      client_id: request.clientId,
      client_secret: request.clientSecret,
      resource: request.resource,
      scope: 'openid',
    };
    return withRetry(
      async () => {
        const answer = await this.#postForm(this.tokenUrl, form);
        this.#o.onRedemptionAnswered?.(answer.status);
        if (answer.status === 200) return parseTokens(answer.body);
        throw this.#errorFrom(answer);
      },
      {
        policy: platformRetryPolicy(this.#o.retry),
        deps: this.#o.deps,
        deadlineEpochMs: options.deadlineEpochMs,
        onRetry: this.#o.onRetry,
      },
    );
  }

  /** Starts a device authorization (v2 `devicecode` endpoint) for `scope`. */
  async startDeviceAuthorization(request: { clientId: string; scope: string }): Promise<DeviceAuthorization> {
    const answer = await withRetry(
      async () => {
        const result = await this.#postForm(`${this.#base}/v2.0/devicecode`, {
          client_id: request.clientId,
          scope: request.scope,
        });
        if (result.status !== 200) throw this.#errorFrom(result);
        return result;
      },
      { policy: platformRetryPolicy(this.#o.retry), deps: this.#o.deps, onRetry: this.#o.onRetry },
    );
    const parsed = deviceAuthorizationSchema.safeParse(answer.body);
    const verificationUri = parsed.success ? (parsed.data.verification_uri ?? parsed.data.verification_url) : undefined;
    if (!parsed.success || !verificationUri) {
      throw new TokenEndpointError('The devicecode endpoint answered an unexpected body', {
        retryable: false,
        status: 200,
        oauthError: 'malformedResponse',
      });
    }
    return {
      deviceCode: parsed.data.device_code,
      userCode: parsed.data.user_code,
      verificationUri,
      expiresInSeconds: parsed.data.expires_in,
      intervalSeconds: parsed.data.interval ?? 5,
      message: parsed.data.message,
    };
  }

  /** One poll of the v2 token endpoint with the device code grant (RFC 8628 §3.4). */
  async pollDeviceAuthorization(request: {
    clientId: string;
    clientSecret?: string;
    deviceCode: string;
  }): Promise<DevicePollResult> {
    const form: Record<string, string> = {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      client_id: request.clientId,
      device_code: request.deviceCode,
      ...(request.clientSecret ? { client_secret: request.clientSecret } : {}),
    };
    const answer = await this.#postForm(`${this.#base}/v2.0/token`, form);
    if (answer.status === 200) return { status: 'approved', tokens: parseTokens(answer.body) };
    const error = this.#errorFrom(answer);
    if (error.oauthError === OAuthError.authorizationPending) return { status: 'pending' };
    if (error.oauthError === OAuthError.slowDown) return { status: 'slowDown' };
    throw error;
  }

  async #postForm(
    url: string,
    form: Record<string, string>,
  ): Promise<{ status: number; body: unknown; retryAfter?: string }> {
    const signal = AbortSignal.timeout(this.#o.retry.attemptTimeoutMs);
    try {
      const response = await this.#fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams(form).toString(),
        agent: this.#o.httpsAgent,
        signal: signal as unknown as NonNullable<Parameters<FetchLike>[1]>['signal'],
      });
      const text = await response.text();
      let body: unknown;
      try {
        body = text === '' ? undefined : (JSON.parse(text) as unknown);
      } catch {
        body = undefined;
      }
      return { status: response.status, body, retryAfter: response.headers.get('retry-after') ?? undefined };
    } catch (thrown) {
      const name = thrown instanceof Error ? thrown.name : 'Error';
      const code = (thrown as { code?: unknown } | undefined)?.code;
      const timedOut = signal.aborted || name === 'AbortError';
      const cause = new Error(`${name}: ${thrown instanceof Error ? thrown.message : String(thrown)}`.slice(0, 500));
      throw new TokenEndpointError(
        timedOut
          ? `The token endpoint did not answer within ${this.#o.retry.attemptTimeoutMs} ms`
          : `The token endpoint could not be reached (${typeof code === 'string' ? code : name})`,
        { retryable: true, oauthError: timedOut ? 'timeout' : 'network', cause },
      );
    }
  }

  #errorFrom(answer: { status: number; body: unknown; retryAfter?: string }): TokenEndpointError {
    const parsed = errorResponseSchema.safeParse(answer.body);
    const oauthError = parsed.success ? parsed.data.error : `http${answer.status}`;
    const retryable = RETRYABLE_STATUS.has(answer.status) || oauthError === OAuthError.temporarilyUnavailable;
    const aadstsCodes = parsed.success ? (parsed.data.error_codes ?? []) : [];
    const summary = parsed.success ? firstSentence(parsed.data.error_description) : undefined;
    return new TokenEndpointError(
      `The token endpoint answered HTTP ${answer.status} ${oauthError}${aadstsCodes.length ? ` (AADSTS${aadstsCodes.join(', AADSTS')})` : ''}${summary ? `: ${summary}` : ''}`,
      {
        retryable,
        status: answer.status,
        oauthError,
        aadstsCodes,
        correlationId: parsed.success ? parsed.data.correlation_id : undefined,
        retryAfterMs: parseRetryAfterMs(answer.retryAfter, this.#o.deps.nowMs()),
      },
    );
  }
}

function parseTokens(body: unknown): RedeemedTokens {
  const parsed = tokenResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new TokenEndpointError('The token endpoint answered 200 with an unexpected body', {
      retryable: false,
      status: 200,
      oauthError: 'malformedResponse',
    });
  }
  return {
    accessToken: parsed.data.access_token,
    expiresInSeconds: parsed.data.expires_in,
    ...(parsed.data.refresh_token ? { refreshToken: parsed.data.refresh_token } : {}),
  };
}

/** The first sentence of an AADSTS description, without the trace/correlation/timestamp tail. */
function firstSentence(description: string | undefined): string | undefined {
  if (!description) return undefined;
  const cut = description.split(/\s(?:Trace ID|Correlation ID|Timestamp):/)[0];
  return cut.slice(0, 300).trim();
}
