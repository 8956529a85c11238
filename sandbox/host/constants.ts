/**
 * Defaults of the local Functions host, each taken from the real host where it has one.
 */

/** Port `func start` listens on. */
export const DEFAULT_HOST_PORT = 7071;

/** Largest request body the real host accepts (100 MB); larger bodies get 413. */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;

/** host.json `extensions.http.routePrefix` default. */
export const DEFAULT_ROUTE_PREFIX = 'api';

/**
 * Visibility timeout the queue listener receives messages with, renewed at half-interval while the
 * function runs (WebJobs `QueueListener`: 10 minutes). A crashed host's messages reappear after it.
 * Env `LOCAL_HOST_QUEUE_LEASE_MS` shortens it (chaos tests).
 */
export const DEFAULT_QUEUE_LEASE_MS = 10 * 60 * 1000;

/** Shortest wait between two polls of a queue (after a poll that found messages). */
export const MIN_POLLING_INTERVAL_MS = 100;

/** Time `stop()` lets in-flight invocations finish before the process exits (env `LOCAL_HOST_DRAIN_MS`). */
export const DEFAULT_DRAIN_MS = 5_000;

/** Time `startLocalHost` waits for the child's ready message. */
export const DEFAULT_START_TIMEOUT_MS = 60_000;

/** Lines of the child's output the parent keeps for diagnostics. */
export const OUTPUT_BUFFER_LINES = 2_000;

/** Worker version the `@azure/functions-core` stand-in reports (not a real worker version). */
export const LOCAL_WORKER_VERSION = '3.0.0-local-host';
/** Host version the stand-in reports as `hostVersion` (not a real host version). */
export const LOCAL_HOST_VERSION = '4.0.0-local-host';

/** Environment variables the host reads besides app settings. */
export const HostEnv = {
  queueLeaseMs: 'LOCAL_HOST_QUEUE_LEASE_MS',
  drainMs: 'LOCAL_HOST_DRAIN_MS',
  maxRequestBodyBytes: 'LOCAL_HOST_MAX_BODY_BYTES',
} as const;

/** Prefix of app settings that override host.json values (`AzureFunctionsJobHost__extensions__queues__batchSize`). */
export const HOST_JSON_ENV_PREFIX = 'AzureFunctionsJobHost__';

/** Azurite's well-known development account name. */
export const DEVSTORE_ACCOUNT_NAME = 'devstoreaccount1';
/** Azurite's well-known development account key (published in Azurite's docs; not a secret). */
export const DEVSTORE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
