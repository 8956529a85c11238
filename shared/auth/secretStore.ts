/**
 * Key Vault access of the broker: reads a secret (latest version) and writes a new version, with bounded
 * retries, per-attempt timeouts and errors that never carry a secret value.
 */
import { isRestError } from '@azure/core-rest-pipeline';
import { SecretStoreError } from './errors';
import { parseRetryAfterMs, platformRetryPolicy, withRetry, type RetryDeps, type RetryPolicy } from './retry';
import type { SecretClientLike } from './types';

/** One secret value with the version id Key Vault gave it. */
export interface SecretVersion {
  value: string;
  /** Key Vault version id (safe to log). */
  version: string;
  /** The version's tags (not secret; e.g. `clientId` on the client secret). */
  tags?: Record<string, string>;
  /** The version's `expiresOn` attribute (epoch ms), when it has one (the shared access token's does). */
  expiresOnEpochMs?: number;
}

/** Options of {@link SecretStore}. */
export interface SecretStoreOptions {
  client: SecretClientLike;
  retry: RetryPolicy;
  deps: RetryDeps;
  /** Called once per attempt (the broker's `keyVaultReads` / `keyVaultWrites`). */
  onAttempt?: (operation: 'read' | 'write') => void;
  /** Called before each backoff. */
  onRetry?: (info: {
    operation: 'read' | 'write';
    secretName: string;
    attempt: number;
    delayMs: number;
    error: unknown;
  }) => void;
}

/** Reads and writes the broker's secrets in Key Vault. */
export class SecretStore {
  readonly #o: SecretStoreOptions;

  constructor(options: SecretStoreOptions) {
    this.#o = options;
  }

  /**
   * The latest version of `secretName`. Throws {@link SecretStoreError}: `code: 'SecretNotFound'` (not
   * retryable) when it does not exist, retryable after 429/5xx/timeouts once the retries are spent.
   */
  async read(secretName: string, options: { deadlineEpochMs?: number } = {}): Promise<SecretVersion> {
    return withRetry(
      async () => {
        this.#o.onAttempt?.('read');
        const secret = await this.#timed('read', secretName, (abortSignal) =>
          this.#o.client.getSecret(secretName, { abortSignal }),
        );
        const version = secret.properties.version ?? '';
        if (typeof secret.value !== 'string' || secret.value === '') {
          throw new SecretStoreError(
            `Key Vault secret '${secretName}' (version ${version || 'unknown'}) has no value`,
            {
              retryable: false,
              secretName,
              operation: 'read',
              code: 'EmptySecret',
            },
          );
        }
        const tags = secret.properties.tags;
        const expiresOnEpochMs = secret.properties.expiresOn?.getTime();
        return {
          value: secret.value,
          version,
          ...(tags && Object.keys(tags).length > 0 ? { tags } : {}),
          ...(expiresOnEpochMs !== undefined && Number.isFinite(expiresOnEpochMs) ? { expiresOnEpochMs } : {}),
        };
      },
      this.#retryOptions('read', secretName, options.deadlineEpochMs),
    );
  }

  /** Stores `value` as a new version of `secretName`; returns the new version id. */
  async write(
    secretName: string,
    value: string,
    options: { tags?: Record<string, string>; expiresOnEpochMs?: number; deadlineEpochMs?: number } = {},
  ): Promise<{ version: string }> {
    return withRetry(
      async () => {
        this.#o.onAttempt?.('write');
        const secret = await this.#timed('write', secretName, (abortSignal) =>
          this.#o.client.setSecret(secretName, value, {
            abortSignal,
            ...(options.tags ? { tags: options.tags } : {}),
            ...(options.expiresOnEpochMs !== undefined ? { expiresOn: new Date(options.expiresOnEpochMs) } : {}),
          }),
        );
        return { version: secret.properties.version ?? '' };
      },
      this.#retryOptions('write', secretName, options.deadlineEpochMs),
    );
  }

  #retryOptions(operation: 'read' | 'write', secretName: string, deadlineEpochMs: number | undefined) {
    return {
      policy: platformRetryPolicy(this.#o.retry),
      deps: this.#o.deps,
      deadlineEpochMs,
      onRetry: (info: { attempt: number; delayMs: number; error: unknown }) =>
        this.#o.onRetry?.({ operation, secretName, ...info }),
    };
  }

  async #timed<T>(
    operation: 'read' | 'write',
    secretName: string,
    call: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const signal = AbortSignal.timeout(this.#o.retry.attemptTimeoutMs);
    try {
      return await call(signal);
    } catch (thrown) {
      throw toSecretStoreError(thrown, operation, secretName, signal.aborted, this.#o.deps.nowMs());
    }
  }
}

/** Statuses after which the same Key Vault call may succeed. */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Maps an SDK failure to a {@link SecretStoreError}. The SDK's RestError holds the request (and for a
 * write, the secret value in its body): it is replaced by a plain Error with only name, message, status
 * and code, so the value cannot leak through `cause`.
 */
function toSecretStoreError(
  thrown: unknown,
  operation: 'read' | 'write',
  secretName: string,
  timedOut: boolean,
  nowMs: number,
): SecretStoreError {
  if (thrown instanceof SecretStoreError) return thrown;
  const info = describeRestError(thrown);
  const cause = Object.assign(new Error(`${info.name}: ${info.message}`.slice(0, 500)), {
    statusCode: info.status,
    code: info.code,
  });
  if (timedOut || info.name === 'AbortError') {
    return new SecretStoreError(`Key Vault ${operation} of '${secretName}' timed out`, {
      retryable: true,
      secretName,
      operation,
      code: 'timeout',
      cause,
    });
  }
  if (info.status === undefined) {
    return new SecretStoreError(
      `Key Vault ${operation} of '${secretName}' failed: network error (${info.code ?? info.name})`,
      {
        retryable: true,
        secretName,
        operation,
        code: info.code ?? 'network',
        cause,
      },
    );
  }
  const retryAfterMs = parseRetryAfterMs(info.retryAfter, nowMs);
  const code = info.status === 404 ? 'SecretNotFound' : info.code;
  return new SecretStoreError(
    `Key Vault ${operation} of '${secretName}' failed with HTTP ${info.status}${code ? ` (${code})` : ''}`,
    {
      retryable: RETRYABLE_STATUS.has(info.status),
      secretName,
      operation,
      status: info.status,
      code,
      retryAfterMs,
      cause,
    },
  );
}

interface RestErrorInfo {
  name: string;
  message: string;
  status?: number;
  code?: string;
  retryAfter?: string;
}

/** Reads what matters from an `@azure/core-rest-pipeline` RestError or any other thrown value. */
function describeRestError(thrown: unknown): RestErrorInfo {
  if (isRestError(thrown)) {
    return {
      name: thrown.name,
      message: thrown.message,
      status: thrown.statusCode,
      code: thrown.code,
      retryAfter: thrown.response?.headers.get('retry-after'),
    };
  }
  if (thrown instanceof Error) {
    const { code } = thrown as NodeJS.ErrnoException; // a socket error that no SDK wrapped (ECONNRESET)
    return { name: thrown.name, message: thrown.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(thrown) };
}
