/**
 * The IPC messages between {@link startLocalHost} (parent) and the host process (`main.ts`).
 */
import type { HostedFunction } from './functionHost';

/** Message types. */
export const HostMessageType = {
  /** child → parent: listening, functions loaded. */
  ready: 'local-host:ready',
  /** child → parent: start-up failed (the child exits next). */
  error: 'local-host:error',
  /** parent → child: stop gracefully (same as SIGTERM). */
  stop: 'local-host:stop',
} as const;
export type HostMessageType = (typeof HostMessageType)[keyof typeof HostMessageType];

/** Sent once the host listens and every trigger has started. */
export interface HostReadyMessage {
  type: typeof HostMessageType.ready;
  url: string;
  port: number;
  pid: number;
  functions: HostedFunction[];
}

/** Sent when start-up failed. */
export interface HostErrorMessage {
  type: typeof HostMessageType.error;
  message: string;
  code: string;
}

/** Anything the child sends. */
export type HostMessage = HostReadyMessage | HostErrorMessage;
