/**
 * In-memory referrals of the Partner Center simulator, with the owner organization of each (what a caller
 * may see) and the results of creates by `MS-RequestId` (idempotent replays).
 */
import type { JsonObject } from './referralRules';

/** A referral as the simulator stores and returns it. */
export type SimulatedReferral = JsonObject & {
  id: string;
  engagementId: string;
  organizationId: string;
  organizationName: string;
  eTag: string;
  status: string;
  substatus: string;
  createdDateTime: string;
  updatedDateTime: string;
};

/** A stored referral and who may see it. */
export interface StoredReferral {
  referral: SimulatedReferral;
  /** The calling partner that created it (a Microsoft-side referral belongs to the partner that created it). */
  ownerOrganizationId: string;
  /** Insertion order (tie-break of equal timestamps). */
  seq: number;
}

/** The original answer to a create, replayed for a repeated `MS-RequestId`. */
export interface RecordedCreate {
  status: number;
  body: string;
  eTag: string;
}

/** Referrals by id, in insertion order, plus recorded creates. */
export class ReferralStore {
  readonly #byId = new Map<string, StoredReferral>();
  readonly #inOrder: StoredReferral[] = [];
  readonly #engagements = new Map<string, Set<string>>();
  readonly #creates = new Map<string, RecordedCreate>();
  #seq = 0;

  /** Adds a new referral owned by `ownerOrganizationId`. */
  add(referral: SimulatedReferral, ownerOrganizationId: string): StoredReferral {
    const stored = { referral, ownerOrganizationId, seq: ++this.#seq };
    this.#byId.set(referral.id.toLowerCase(), stored);
    this.#inOrder.push(stored);
    const key = referral.engagementId.toLowerCase();
    const owners = this.#engagements.get(key) ?? new Set<string>();
    owners.add(ownerOrganizationId);
    this.#engagements.set(key, owners);
    return stored;
  }

  /** The referral with `id` if `organizationId` may see it. */
  get(id: string, organizationId: string): StoredReferral | undefined {
    const stored = this.#byId.get(id.toLowerCase());
    return stored && stored.ownerOrganizationId === organizationId ? stored : undefined;
  }

  /** The referral with `id`, whoever owns it (the control surface: Microsoft's and a person's changes). */
  find(id: string): StoredReferral | undefined {
    return this.#byId.get(id.toLowerCase());
  }

  /** Every referral of engagement `engagementId`, in insertion order. */
  inEngagement(engagementId: string): StoredReferral[] {
    const key = engagementId.toLowerCase();
    return this.#inOrder.filter((s) => s.referral.engagementId.toLowerCase() === key);
  }

  /** Replaces the stored body of a referral (same id). */
  replace(stored: StoredReferral, referral: SimulatedReferral): void {
    stored.referral = referral;
  }

  /** Referrals `organizationId` may see, in insertion order. */
  visibleTo(organizationId: string): StoredReferral[] {
    return this.#inOrder.filter((s) => s.ownerOrganizationId === organizationId);
  }

  /** True when `organizationId` has a referral in engagement `engagementId`. */
  hasEngagement(engagementId: string, organizationId: string): boolean {
    return this.#engagements.get(engagementId.toLowerCase())?.has(organizationId) ?? false;
  }

  /** Every stored referral, in insertion order. */
  all(): SimulatedReferral[] {
    return this.#inOrder.map((s) => s.referral);
  }

  /** Number of stored referrals. */
  get size(): number {
    return this.#inOrder.length;
  }

  /** The recorded create for (`organizationId`, `requestId`). */
  recordedCreate(organizationId: string, requestId: string): RecordedCreate | undefined {
    return this.#creates.get(`${organizationId}|${requestId.toLowerCase()}`);
  }

  /** Records the answer to a create so a repeated `MS-RequestId` gets it again. */
  recordCreate(organizationId: string, requestId: string, create: RecordedCreate): void {
    this.#creates.set(`${organizationId}|${requestId.toLowerCase()}`, create);
  }

  /** Forgets everything. */
  clear(): void {
    this.#byId.clear();
    this.#inOrder.length = 0;
    this.#engagements.clear();
    this.#creates.clear();
    this.#seq = 0;
  }
}
