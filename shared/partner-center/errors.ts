import { BridgeError, type BridgeErrorOptions } from '../platform/errors';

/** What is known about a failed Partner Center call. */
export interface PartnerCenterErrorContext extends BridgeErrorOptions {
  /** HTTP status, absent for timeouts and network failures. */
  status?: number;
  /** Partner Center's `error.code` (invalidRequest, unauthenticated, ...) or a local code (timeout, network). */
  code: string;
  /** Partner Center's `error.target`, when given. */
  target?: string;
  /** MS-CorrelationId sent with the call (for support tickets). */
  correlationId?: string;
  /** MS-RequestId sent with the call. */
  requestId?: string;
}

/** Base of every Partner Center failure; `retryable` tells whether the same call may succeed later. */
export class PartnerCenterError extends BridgeError {
  readonly status?: number;
  readonly code: string;
  readonly target?: string;
  readonly correlationId?: string;
  readonly requestId?: string;

  constructor(message: string, context: PartnerCenterErrorContext) {
    super(message, context);
    this.name = 'PartnerCenterError';
    this.status = context.status;
    this.code = context.code;
    this.target = context.target;
    this.correlationId = context.correlationId;
    this.requestId = context.requestId;
  }
}

/** Partner Center refused the request (4xx other than 401, 408, 429): permanent, never retried. */
export class PartnerCenterRejectedError extends PartnerCenterError {
  constructor(message: string, context: PartnerCenterErrorContext) {
    super(message, { ...context, retryable: false });
    this.name = 'PartnerCenterRejectedError';
  }
}

/** 429: throttled; `retryAfterMs` is what Partner Center asked us to wait. */
export class PartnerCenterThrottledError extends PartnerCenterError {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
    context: PartnerCenterErrorContext,
  ) {
    super(message, { ...context, retryable: true });
    this.name = 'PartnerCenterThrottledError';
  }
}

/** 5xx, 408, timeouts and network failures (including a response lost after the call was made). */
export class PartnerCenterUnavailableError extends PartnerCenterError {
  constructor(message: string, context: PartnerCenterErrorContext) {
    super(message, { ...context, retryable: true });
    this.name = 'PartnerCenterUnavailableError';
  }
}

/** 401 even with a freshly redeemed token (missing MFA claim, wrong role): needs an operator. */
export class PartnerCenterUnauthorizedError extends PartnerCenterError {
  constructor(message: string, context: PartnerCenterErrorContext) {
    super(message, { ...context, retryable: false });
    this.name = 'PartnerCenterUnauthorizedError';
  }
}
