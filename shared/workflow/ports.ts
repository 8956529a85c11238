import type { PartnerCenterReferral } from '../partner-center/types';
import type { StepMessage } from './messages';

/** Sends one step message to a queue (`referral-submit`, `referral-link`). */
export interface QueueSender {
  send(message: StepMessage): Promise<void>;
}

/** The Partner Center calls the workflow makes. */
export interface ReferralsApi {
  createReferral(
    body: unknown,
    options?: { requestId?: string; deadlineEpochMs?: number; logFields?: Record<string, unknown> },
  ): Promise<PartnerCenterReferral>;
  listReferrals(
    query: { filter?: string; maxItems?: number },
    options?: { deadlineEpochMs?: number; logFields?: Record<string, unknown> },
  ): Promise<PartnerCenterReferral[]>;
}

/** When the link step looks for an existing Microsoft referral in the engagement before creating one. */
export const LinkAdoptLookup = { Always: 'always', OnRetry: 'on-retry' } as const;
export type LinkAdoptLookup = (typeof LinkAdoptLookup)[keyof typeof LinkAdoptLookup];

/**
 * Where a co-sell deal's Microsoft referral is created.
 * - `inline`: right after the partner referral, in the same invocation (HTTP or queue), under the same
 *   lease; a transient failure or an exhausted time budget hands the step to `referral-link`.
 * - `queue`: always through `referral-link` (the design card's shape; one more read, two more writes and
 *   three queue operations per co-sell deal).
 */
export const LinkMode = { Inline: 'inline', Queue: 'queue' } as const;
export type LinkMode = (typeof LinkMode)[keyof typeof LinkMode];
