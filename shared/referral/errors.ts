import { BridgeError, type BridgeErrorOptions } from '../platform/errors';

/** What is known about a contract failure: the data or table that is wrong. */
export interface ReferralContractErrorContext extends BridgeErrorOptions {
  /** Which part of the contract is broken (`services-co-sell-catalogue`, `enum:CustomerSize`, ...). */
  subject?: string;
}

/**
 * Base error of the referral contract module.
 *
 * Validation never throws: it returns a result with a problem body. This error is for programming and
 * data errors found while building the contract (a malformed Services co-sell catalogue, two enum
 * values that normalise to the same spelling). Never retryable: the same data fails the same way.
 */
export class ReferralContractError extends BridgeError {
  /** Which part of the contract is broken. */
  readonly subject?: string;

  constructor(message: string, context: ReferralContractErrorContext = {}) {
    super(message, { cause: context.cause, retryable: false });
    this.name = 'ReferralContractError';
    this.subject = context.subject;
  }
}
