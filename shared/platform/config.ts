/**
 * The app's configuration: every setting it reads, parsed once from the environment with zod.
 *
 * A missing or malformed setting fails start-up with one {@link ConfigError} that names every
 * offending setting. The same names are set by local.settings.sample.json (sandbox values) and by the
 * Bicep in infra/ (Azure values): pointing the app at real Azure is only configuration.
 */
import { z } from 'zod';
import { BridgeError } from './errors';
import { resolveTimerSchedule, type TimerScheduleSetting } from './schedules';

/** The timer schedules' defaults (they live beside the zod-free reader the timers register with). */
export { TIMER_SCHEDULE_DEFAULTS } from './schedules';

/** A setting failed validation; `settings` lists each offending name with its problem. */
export class ConfigError extends BridgeError {
  readonly settings: ReadonlyArray<{ name: string; problem: string }>;
  constructor(settings: ReadonlyArray<{ name: string; problem: string }>) {
    super(
      `Invalid configuration: ${settings.map((s) => `${s.name} (${s.problem})`).join('; ')}. ` +
        'See local.settings.sample.json and the configuration table in README.md.',
    );
    this.name = 'ConfigError';
    this.settings = settings;
  }
}

const booleanSetting = (defaultValue: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'True', 'False'])
    .optional()
    .transform((v) => (v === undefined ? defaultValue : ['true', '1', 'yes', 'True'].includes(v)));

const intSetting = (defaultValue: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return defaultValue;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const urlSetting = z.url({ protocol: /^https?$/ });

/** A timer schedule: its default from schedules.ts, checked as the timer's registration reads it. */
const scheduleSetting = (setting: TimerScheduleSetting) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const resolved = resolveTimerSchedule(setting, v);
      if (!resolved.ok) {
        ctx.addIssue({ code: 'custom', message: resolved.problem });
        return z.NEVER;
      }
      return resolved.schedule;
    });
const decisionRulesSchema = z
  .array(
    z.strictObject({
      status: z.string().min(1),
      substatus: z.string().min(1).optional(),
      decision: z.enum(['Pending', 'Accepted', 'Declined', 'Expired']),
    }),
  )
  .min(1);

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Every environment variable the app reads. `@default` values apply when the setting is absent.
 * The storage connection is either a connection string (`AzureWebJobsStorage`, Azurite locally) or an
 * identity-based connection (`AzureWebJobsStorage__accountName` or the per-service URIs, with
 * `AzureWebJobsStorage__credential=managedidentity` and `__clientId`), as the Functions host reads it.
 */
export const settingsSchema = z.object({
  AzureWebJobsStorage: z.string().min(1).optional(),
  AzureWebJobsStorage__accountName: z.string().min(1).optional(),
  AzureWebJobsStorage__queueServiceUri: urlSetting.optional(),
  AzureWebJobsStorage__tableServiceUri: urlSetting.optional(),
  AzureWebJobsStorage__clientId: z.string().min(1).optional(),
  AzureWebJobsStorage__credential: z.string().min(1).optional(),

  /** Table of tracking records. @default 'referrals' */
  REFERRALS_TABLE_NAME: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/)
    .default('referrals'),

  /** Partner Center API origin. @default 'https://api.partner.microsoft.com' */
  PARTNER_CENTER_BASE_URL: urlSetting.default('https://api.partner.microsoft.com'),
  /** Token audience for the referrals API (not api.partnercenter.microsoft.com). */
  PARTNER_CENTER_RESOURCE: z.string().min(1).default('https://api.partner.microsoft.com'),
  /** Partner Center calls in flight at once per instance: the ceiling of the adaptive limit. @default 16 */
  PARTNER_CENTER_CONCURRENCY: intSetting(16, 1, 256),
  /**
   * Adapt calls in flight and their pace to Partner Center's throttling (429 and 503 with Retry-After hold
   * every call of the instance; docs/performance.md). false: a fixed PARTNER_CENTER_CONCURRENCY. @default true
   */
  PARTNER_CENTER_ADAPTIVE: booleanSetting(true),
  /** Share a 429's Retry-After hold with the other instances through the tracking table. @default false */
  PARTNER_CENTER_SHARE_THROTTLE: booleanSetting(false),
  /**
   * `table`: instances that learn their pace from the same throttled burst take their shares from one
   * shared window, through one row per instance in the tracking table (tenantRate.ts; docs/performance.md
   * measures it: mean goodputRatio 0.898 against 0.843 over seven 2-instance pairs). `off`: each instance learns alone.
   * @default 'table'
   */
  PARTNER_CENTER_RATE_SHARING: z.enum(['table', 'off']).default('table'),
  /** Time budget of one Partner Center HTTP call. @default 30000 */
  PARTNER_CENTER_TIMEOUT_MS: intSetting(30_000, 100, 600_000),
  /** Attempts of one Partner Center call before the failure goes back to the queue. @default 4 */
  PARTNER_CENTER_MAX_ATTEMPTS: intSetting(4, 1, 20),
  /**
   * How long a step (one Partner Center create with its retries) holds its lease on a record before
   * another instance may take it over. Must outlast PARTNER_CENTER_TIMEOUT_MS × PARTNER_CENTER_MAX_ATTEMPTS
   * plus backoff. @default (PARTNER_CENTER_TIMEOUT_MS + 30 s) × PARTNER_CENTER_MAX_ATTEMPTS
   */
  STEP_LEASE_SECONDS: intSetting(0, 0, 86_400),
  /** Time the HTTP submit waits for Partner Center before answering 202 and finishing from the queue. @default 20000 */
  SUBMIT_TIME_BUDGET_MS: intSetting(20_000, 0, 200_000),

  /** Entra authority host. @default 'https://login.microsoftonline.com' */
  ENTRA_AUTHORITY_HOST: urlSetting.default('https://login.microsoftonline.com'),
  /** The partner's Entra tenant id (or domain) that issued the refresh token. */
  ENTRA_TENANT_ID: z.string().min(1),

  /** Key Vault URL holding the app credentials and the refresh token. */
  KEY_VAULT_URL: urlSetting,
  /** Secret names inside that vault. */
  KEY_VAULT_CLIENT_ID_SECRET_NAME: z.string().min(1).default('partner-center-client-id'),
  KEY_VAULT_CLIENT_SECRET_SECRET_NAME: z.string().min(1).default('partner-center-client-secret'),
  KEY_VAULT_REFRESH_TOKEN_SECRET_NAME: z.string().min(1).default('partner-center-refresh-token'),
  /**
   * How the instances share the Partner Center access token. `keyvault`: the instance that redeems stores
   * the access token as a Key Vault secret (KEY_VAULT_ACCESS_TOKEN_SECRET_NAME, with `expiresOn`), the
   * others read it instead of redeeming: one redemption per token lifetime whatever the instance count, for
   * one secret write per lifetime and 1–2 Key Vault reads per instance. `off`: each instance redeems its
   * own (N instances, N redemptions and N rotated refresh-token versions per lifetime). docs/auth.md.
   * @default 'keyvault'
   */
  TOKEN_SHARING: z.enum(['keyvault', 'off']).default('keyvault'),
  /** Secret holding the shared access token (TOKEN_SHARING=keyvault). @default 'partner-center-access-token' */
  KEY_VAULT_ACCESS_TOKEN_SECRET_NAME: z.string().min(1).default('partner-center-access-token'),
  /**
   * Skip MSAL's instance discovery (a call to login.microsoftonline.com) for a custom authority host:
   * needed offline against the sandbox's Entra stand-in; harmless against real Entra. @default false
   */
  AZURE_DISABLE_INSTANCE_DISCOVERY: booleanSetting(false),
  /** While reauthorisation is required, how often Key Vault is re-read for a newly stored refresh token. @default 30 */
  TOKEN_REAUTH_RECHECK_SECONDS: intSetting(30, 1, 3600),
  /** Renew the cached access token this long before it expires. @default 300 */
  TOKEN_EXPIRY_MARGIN_SECONDS: intSetting(300, 0, 3000),

  /** Let unknown referral fields pass through unchanged (fields Partner Center adds later). @default false */
  REFERRAL_ALLOW_UNKNOWN_FIELDS: booleanSetting(false),
  /** Allow callbackUrl on loopback/private addresses and http (the sandbox only). @default false */
  CALLBACK_ALLOW_PRIVATE_TARGETS: booleanSetting(false),
  /** Age after which the sweeper pushes an intermediate record forward. @default 120 */
  SWEEPER_STALE_AFTER_SECONDS: intSetting(120, 1, 86_400),

  /**
   * NCRONTAB schedule of the sweeper timer (6 fields, with seconds). Read at registration too (module
   * load, without zod): see schedules.ts. @default '0 *\/1 * * * *' (every minute)
   */
  SWEEPER_SCHEDULE: scheduleSetting('SWEEPER_SCHEDULE'),
  /**
   * NCRONTAB schedule of the token keep-alive (keeps the refresh token from expiring unused). Read at
   * registration too. @default '0 17 3 * * *' (03:17 daily)
   */
  TOKEN_KEEPALIVE_SCHEDULE: scheduleSetting('TOKEN_KEEPALIVE_SCHEDULE'),
  /**
   * Closed tracking records (final, nothing left to deliver) are deleted this many days after their last
   * write. 400: a co-sell deal stays open in Partner Center for months after the bridge's record is final,
   * and the record is what answers status lookups, maps Partner Center's events to the deal and makes a
   * late retry with the same key a replay instead of a duplicate; 400 days covers a year-long sales cycle
   * with a month's margin. @default 400
   */
  TRACKING_RETENTION_DAYS: intSetting(400, 1, 36_500),
  /** NCRONTAB schedule of the retention timer (6 fields, with seconds). @default 02:41 daily */
  RETENTION_SCHEDULE: scheduleSetting('RETENTION_SCHEDULE'),
  /** Lowest level written to the logs: debug, info, warn, error. @default 'info' */
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /**
   * When the link step lists the engagement for an existing Microsoft referral before creating one:
   * `on-retry` (only when an earlier attempt may have created it; the MS-RequestId covers a lost
   * response) or `always` (also adopts one made outside the bridge, one more call per co-sell deal).
   * @default 'on-retry'
   */
  LINK_ADOPT_LOOKUP: z.enum(['on-retry', 'always']).default('on-retry'),
  /**
   * Where a co-sell deal's Microsoft referral is created: `inline` (right after the partner referral, in
   * the same invocation; a transient failure hands it to `referral-link`) or `queue` (always through
   * `referral-link`). Both are exactly-once; inline costs 2.5 storage requests per referral instead of 6
   * and answers a co-sell POST with both ids (docs/architecture.md).
   * @default 'inline'
   */
  LINK_MODE: z.enum(['inline', 'queue']).default('inline'),
  /**
   * How `POST /api/referrals/{trackingId}/co-sell` upgrades a Private deal (the caller must send
   * `shareWithMicrosoft: true`): `patch` shares the partner referral first (JSON Patch `replace /type`
   * Shared and `/consent/consentToShareReferralWithMicrosoftSellers` true, If-Match of a fresh GET), then
   * creates the Microsoft referral; `refuse` answers 409 (create a new co-sell deal instead). Whether Partner
   * Center accepts that PATCH is [inferred] (docs/contract.md, "Upgrade to co-sell").
   * @default 'patch'
   */
  COSELL_UPGRADE_PRIVATE: z.enum(['patch', 'refuse']).default('patch'),

  /**
   * Partner Center events (docs/events.md). Where signing certificates may be downloaded from: entries
   * `host[:port]/path` (a final `*` = one file name), separated by commas or spaces; https only.
   * @default '3psostorageacct.blob.core.windows.net/cert/*'
   */
  EVENTS_CERT_URL_ALLOWLIST: z.string().min(1).default('3psostorageacct.blob.core.windows.net/cert/*'),
  /** PEM bundle of the roots a signing certificate must chain to. @default the Microsoft roots Node bundles */
  EVENTS_TRUSTED_ROOTS_PATH: z.string().min(1).optional(),
  /** PEM bundle of intermediates to chain through, besides those delivered with the certificate. */
  EVENTS_CERT_INTERMEDIATES_PATH: z.string().min(1).optional(),
  /** Largest event body read; larger deliveries are refused (401). @default 16384 */
  EVENTS_MAX_BODY_BYTES: intSetting(16_384, 256, 1_048_576),
  /** Time budget of one certificate download. @default 5000 */
  EVENTS_CERT_FETCH_TIMEOUT_MS: intSetting(5_000, 100, 60_000),
  /** Largest certificate file read. @default 16384 */
  EVENTS_CERT_MAX_BYTES: intSetting(16_384, 1_024, 1_048_576),
  /** How long a downloaded certificate is reused. @default 3600 */
  EVENTS_CERT_CACHE_TTL_SECONDS: intSetting(3_600, 1, 86_400),
  /** Events whose ResourceChangeUtcDate is older than this are refused as replays. @default 24 */
  EVENTS_MAX_AGE_HOURS: intSetting(24, 1, 8_760),
  /** RSA padding of event signatures (PKCS#1 v1.5 is inferred from Microsoft's sample). @default 'pkcs1' */
  EVENTS_SIGNATURE_PADDING: z.enum(['pkcs1', 'pss']).default('pkcs1'),
  // Operations console and referral list (issue 16, docs/console.md).
  /** Let the console replay or discard poison messages (and, later, resend fixed deals). @default false */
  CONSOLE_ACTIONS_ENABLED: booleanSetting(false),
  /** Base of the console's links into Partner Center; the referral id is appended [inferred]. @default 'https://partner.microsoft.com/dashboard/referrals/v2/' */
  PARTNER_CENTER_DASHBOARD_URL: urlSetting.default('https://partner.microsoft.com/dashboard/referrals/v2/'),
  /** Origin of Partner Center's Webhook API (another host than the referrals API). @default 'https://api.partnercenter.microsoft.com' */
  PARTNER_CENTER_WEBHOOK_API_URL: urlSetting.default('https://api.partnercenter.microsoft.com'),
  /** Token audience of the Webhook API. @default 'https://api.partnercenter.microsoft.com' */
  PARTNER_CENTER_WEBHOOK_RESOURCE: z.string().min(1).default('https://api.partnercenter.microsoft.com'),
  /** The events URL that should be registered (without `code`); else the one `events:register` recorded. */
  EVENTS_WEBHOOK_URL: urlSetting.optional(),
  /** /api/health checks the webhook registration at most this often per instance; 0 = never. @default 15 */
  EVENTS_REGISTRATION_CHECK_MINUTES: intSetting(15, 0, 1_440),
  /** /api/health is degraded when no authentic event arrived for longer; 0 = report the age only. @default 0 */
  EVENTS_SILENCE_WARN_HOURS: intSetting(0, 0, 8_760),

  /**
   * Reconciliation (docs/events.md): NCRONTAB schedule (6 fields) of the timer that lists referrals changed
   * since the watermark and applies what events missed. @default every 5 minutes (`0 0-59/5 * * * *`)
   */
  EVENTS_RECONCILE_SCHEDULE: scheduleSetting('EVENTS_RECONCILE_SCHEDULE'),
  /** How far below the watermark each listing goes (clock skew, late commits). @default 120 */
  EVENTS_RECONCILE_OVERLAP_SECONDS: intSetting(120, 0, 86_400),
  /** First reconciliation without a watermark: how far back it looks. @default 24 */
  EVENTS_RECONCILE_INITIAL_LOOKBACK_HOURS: intSetting(24, 1, 8_760),
  /**
   * The [inferred] decision table: JSON array of `{ "status", "substatus"?, "decision" }` (decision
   * Pending, Accepted, Declined or Expired), first match wins. @default the table in shared/sync/applySnapshot.ts
   */
  EVENTS_DECISION_RULES: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return undefined;
      const parsed = decisionRulesSchema.safeParse(safeJson(value));
      if (!parsed.success) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a JSON array of { status, substatus?, decision: Pending|Accepted|Declined|Expired }',
        });
        return z.NEVER;
      }
      return parsed.data;
    }),
  /** `source` of the CloudEvents the bridge publishes. @default 'urn:cosell-referral-bridge' */
  EVENTS_CLOUDEVENT_SOURCE: z.string().min(1).default('urn:cosell-referral-bridge'),

  /** Public base URL of this app, for Location headers and links (else taken from the request). */
  PUBLIC_BASE_URL: urlSetting.optional(),
  /** Shown by /api/health. */
  APP_VERSION: z.string().optional(),
});

/** The parsed settings. */
export type Settings = z.infer<typeof settingsSchema>;

/** The names of every setting the app reads (used by the Bicep and sample-settings consistency tests). */
export const SETTING_NAMES = Object.keys(settingsSchema.shape) as ReadonlyArray<keyof Settings>;

/**
 * Parses `env` (default `process.env`) into {@link Settings}, or throws one {@link ConfigError} naming
 * every missing or malformed setting. Values are never echoed: a setting can hold a secret.
 */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const result = settingsSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        name: String(issue.path[0] ?? '(root)'),
        problem: issue.code === 'invalid_type' && issue.input === undefined ? 'missing' : issue.message,
      })),
    );
  }
  const settings = result.data;
  const hasStorage =
    settings.AzureWebJobsStorage ||
    settings.AzureWebJobsStorage__accountName ||
    (settings.AzureWebJobsStorage__queueServiceUri && settings.AzureWebJobsStorage__tableServiceUri);
  if (!hasStorage) {
    throw new ConfigError([
      {
        name: 'AzureWebJobsStorage',
        problem: 'missing: set a connection string, or AzureWebJobsStorage__accountName (identity-based connection)',
      },
    ]);
  }
  return settings;
}
