/** What the sync use cases need of Partner Center (the PartnerCenterClient has it all). */
import type { CallOptions, PartnerCenterReferral } from '../partner-center/types';

/** The Partner Center calls of the event consumer and the reconciliation. */
export interface SyncPartnerCenter {
  getReferral(id: string, options?: CallOptions): Promise<PartnerCenterReferral>;
  listReferrals(query: { filter?: string; maxItems?: number }, options?: CallOptions): Promise<PartnerCenterReferral[]>;
  listReferralPages(
    query: { filter?: string; orderBy?: string; top?: number },
    options?: CallOptions,
  ): AsyncIterable<PartnerCenterReferral[]>;
}
