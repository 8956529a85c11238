/**
 * The Partner Center referrals API's vocabulary the bridge uses: the referral as Partner Center returns it,
 * JSON Patch operations, per-call options, and the token source the client needs.
 */

/** Anything that hands out Partner Center access tokens (the token broker in shared/auth). */
export interface AccessTokenSource {
  getAccessToken(options?: { forceRefresh?: boolean; rejectedToken?: string }): Promise<string>;
}

/** A referral as Partner Center returns it (only the fields the bridge reads are typed). */
export interface PartnerCenterReferral {
  id: string;
  engagementId: string;
  organizationId?: string;
  organizationName?: string;
  eTag?: string;
  status?: string;
  substatus?: string;
  target?: Array<{ type?: string; id?: string }>;
  [field: string]: unknown;
}

/** Per-call options. */
export interface CallOptions {
  /** MS-RequestId: the same value on every retry of one logical call. @default a new GUID per call */
  requestId?: string;
  /** Give up retrying when the next attempt could not finish by then (epoch ms). */
  deadlineEpochMs?: number;
  /** Extra log fields (trackingId). */
  logFields?: Record<string, unknown>;
}

/** One JSON Patch (RFC 6902) operation; Partner Center documents `replace` and `add` only. */
export interface ReferralPatchOperation {
  op: 'replace' | 'add';
  /** JSON pointer into the referral, e.g. `/details/dealValue`. */
  path: string;
  value: unknown;
}

/** Options of {@link PartnerCenterClient.patchReferral}. */
export interface PatchOptions extends CallOptions {
  /** `If-Match`: the eTag the operations were planned on; Partner Center answers 412 when it holds another. */
  ifMatch?: string;
  /** `Prefer: return=representation` (the referral as changed) instead of a 204. @default true */
  returnRepresentation?: boolean;
}
