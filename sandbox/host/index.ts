/**
 * The local Functions host: runs a v4 Node.js function app's own registrations (HTTP, storage
 * queue and timer triggers, storage-queue outputs) without Azure Functions Core Tools.
 * See docs/local-host.md.
 */
export { startLocalHost, type LocalHostOptions, type RunningHost } from './startLocalHost';
export { LocalHostError, LocalHostErrorCode } from './errors';
export type { HostedFunction } from './functionHost';
export { DEFAULT_HOST_PORT, DEFAULT_MAX_REQUEST_BODY_BYTES, DEFAULT_QUEUE_LEASE_MS } from './constants';
