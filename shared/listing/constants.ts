/**
 * Names, limits and value sets of the referral list (GET /api/referrals), the console summary and the
 * referral index (docs/console.md, "What each filter costs").
 */

/** Items per page when `limit` is not given. */
export const DEFAULT_PAGE_LIMIT = 50;
/** Largest `limit` accepted. */
export const MAX_PAGE_LIMIT = 200;
/** Days one page may walk (each its shard partitions) before it answers with a cursor (bounds a page's cost). */
export const MAX_PARTITIONS_PER_PAGE = 31;
/** Tracking records read at once while a page's views are built. */
export const RECORD_READ_CONCURRENCY = 16;

/** Days the console summary covers by default, and at most. */
export const DEFAULT_SUMMARY_DAYS = 14;
export const MAX_SUMMARY_DAYS = 31;

/** Days Microsoft sellers have to answer a co-sell request [V: partner-center-lifecycle.md]. */
export const MICROSOFT_DECISION_WINDOW_DAYS = 14;

/** Who started a referral: the partner (outbound, today's only kind) or Microsoft (inbound, the events issue). */
export const Direction = { Outbound: 'outbound', Inbound: 'inbound' } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

/** Microsoft's answer to a co-sell request (recorded by the events issue; absent until then). */
export const Decision = { Pending: 'Pending', Accepted: 'Accepted', Declined: 'Declined', Expired: 'Expired' } as const;
export type Decision = (typeof Decision)[keyof typeof Decision];

/** Deal types a tracking record can carry (`Unknown`: an intake message that failed validation). */
export const LISTED_DEAL_TYPES = ['Private', 'PartnerLed', 'CoSell', 'Unknown'] as const;

/** PartitionKey of the index's bookkeeping entity; RowKey of the one that holds the first indexed day. */
export const META_PARTITION_KEY = 'meta';
export const FIRST_DAY_ROW_KEY = 'firstDay';

/** Where `npm run auth:consent` is documented; the banner shows the command itself. */
export const RECONSENT_COMMAND = 'npm run auth:consent';
/** Days a refresh token lives without a redemption (Entra's inactivity limit, docs/auth.md). */
export const REFRESH_TOKEN_INACTIVITY_DAYS = 90;
