/**
 * The app settings the Bicep writes agree with the settings the app reads (shared/platform/config.ts),
 * read from the compiled template. The schema grows as the app grows: this test reads it at test time,
 * so a new setting must be either set by infra/main.bicep or listed below as optional, with a reason.
 */
import { settingsSchema, SETTING_NAMES } from '../../../shared/platform/config';
import { RESTORE_TIMEOUT_MS, compiledMainTemplate, moduleOf, type ArmTemplate, type CompiledModule } from './bicepCli';

/**
 * Settings the app reads that the Bicep leaves unset on purpose: each has a default or is not needed in
 * Azure. Set any of them per environment with the `appSettingsOverrides` parameter (no Bicep change).
 */
const OPTIONAL_SETTINGS: Record<string, string> = {
  AzureWebJobsStorage:
    'a connection string holds the account key; Azure uses the identity-based connection (AzureWebJobsStorage__*)',
  AzureWebJobsStorage__accountName:
    'the per-service URIs (__blobServiceUri, __queueServiceUri, __tableServiceUri) name the account instead',
  PARTNER_CENTER_BASE_URL: 'defaults to the public Partner Center API',
  PARTNER_CENTER_RESOURCE: 'defaults to the public Partner Center token audience',
  PARTNER_CENTER_CONCURRENCY: 'tuning; the default suits the default functionMaximumInstanceCount',
  PARTNER_CENTER_ADAPTIVE: 'on by default (throttle-aware pacing); off only for the benchmark baseline',
  PARTNER_CENTER_SHARE_THROTTLE: 'off by default (docs/performance.md measures it)',
  PARTNER_CENTER_RATE_SHARING: 'has a default (table; off only to compare, docs/performance.md)',
  PARTNER_CENTER_TIMEOUT_MS: 'tuning; has a default',
  PARTNER_CENTER_MAX_ATTEMPTS: 'tuning; has a default',
  SUBMIT_TIME_BUDGET_MS: 'tuning; has a default',
  ENTRA_AUTHORITY_HOST: 'defaults to the public cloud authority (override for sovereign clouds)',
  AZURE_DISABLE_INSTANCE_DISCOVERY: 'sandbox only (offline Entra stand-in); the default, off, is right for real Entra',
  TOKEN_EXPIRY_MARGIN_SECONDS: 'tuning; has a default',
  REFERRAL_ALLOW_UNKNOWN_FIELDS: 'off by default, which is what production wants',
  CALLBACK_ALLOW_PRIVATE_TARGETS: 'sandbox only; off by default, which is what production wants',
  SWEEPER_STALE_AFTER_SECONDS: 'tuning; has a default',
  SWEEPER_SCHEDULE: 'the sweeper has a default schedule (every minute)',
  TRACKING_RETENTION_DAYS: 'has a default (400 days, docs/architecture.md)',
  RETENTION_SCHEDULE: 'the retention timer has a default schedule (daily)',
  LINK_ADOPT_LOOKUP: 'has a default (on-retry)',
  LINK_MODE: 'has a default (inline)',
  COSELL_UPGRADE_PRIVATE: 'has a default (patch: share a Private deal before upgrading it)',
  PUBLIC_BASE_URL: 'the app takes the base URL from the request; set it behind a custom domain or a gateway',
  APP_VERSION: '/api/health falls back to the package.json version',
  STEP_LEASE_SECONDS: 'derived from the Partner Center timeout and attempts by default',
  TOKEN_KEEPALIVE_SCHEDULE: 'the keep-alive timer has a default schedule (daily)',
  LOG_LEVEL: 'defaults to info',
  TOKEN_REAUTH_RECHECK_SECONDS: 'tuning; has a default',
  EVENTS_CERT_URL_ALLOWLIST: "defaults to Partner Center's documented certificate host and folder",
  EVENTS_TRUSTED_ROOTS_PATH: 'defaults to the Microsoft roots bundled with Node.js; the sandbox sets its CA',
  EVENTS_CERT_INTERMEDIATES_PATH: 'only needed when the signing certificate is delivered without its issuing CA',
  EVENTS_MAX_BODY_BYTES: 'tuning; has a default',
  EVENTS_CERT_FETCH_TIMEOUT_MS: 'tuning; has a default',
  EVENTS_CERT_MAX_BYTES: 'tuning; has a default',
  EVENTS_CERT_CACHE_TTL_SECONDS: 'tuning; has a default',
  EVENTS_MAX_AGE_HOURS: 'has a default (24 hours)',
  EVENTS_SIGNATURE_PADDING: 'has a default (pkcs1, what Microsoft signs with)',
  TOKEN_SHARING:
    'defaults to keyvault (one redemption per token lifetime across instances; the app identity already has Secrets Officer)',
  KEY_VAULT_ACCESS_TOKEN_SECRET_NAME: 'defaults to partner-center-access-token (the shared access token secret)',
  CONSOLE_ACTIONS_ENABLED: 'off by default: console actions are switched on per environment',
  PARTNER_CENTER_DASHBOARD_URL: 'defaults to the public Partner Center dashboard',
  PARTNER_CENTER_WEBHOOK_API_URL: "defaults to Partner Center's Webhook API host",
  PARTNER_CENTER_WEBHOOK_RESOURCE: "defaults to the Webhook API's documented token audience",
  EVENTS_WEBHOOK_URL: 'the drift check uses the URL npm run events:register recorded; set it to pin another',
  EVENTS_REGISTRATION_CHECK_MINUTES: 'tuning; has a default (15)',
  EVENTS_SILENCE_WARN_HOURS: 'off by default (the age is reported, alert on the metric)',
  EVENTS_RECONCILE_SCHEDULE: 'the reconciliation timer has a default schedule (every 5 minutes)',
  EVENTS_RECONCILE_OVERLAP_SECONDS: 'tuning; has a default',
  EVENTS_RECONCILE_INITIAL_LOOKBACK_HOURS: 'has a default (24 hours)',
  EVENTS_DECISION_RULES: 'defaults to the documented [inferred] decision table',
  EVENTS_CLOUDEVENT_SOURCE: 'has a default (urn:cosell-referral-bridge)',
};

/** Settings the app does not read but the platform does: the Functions host, the Azure SDK credential, telemetry. */
const RUNTIME_SETTING =
  /^(AzureWebJobsStorage__\w+|APPLICATIONINSIGHTS_\w+|FUNCTIONS_\w+|WEBSITE_\w+|OTEL_\w+|AZURE_CLIENT_ID)$/;

let main: ArmTemplate;
let functionApp: CompiledModule;
let settings: Record<string, string>;

beforeAll(async () => {
  main = await compiledMainTemplate();
  functionApp = moduleOf(main, 'functionapp');
  settings = functionApp.passed.appSettings?.value as Record<string, string>;
  if (!settings || typeof settings !== 'object')
    throw new Error('main.bicep passes no appSettings object to the functionapp module');
}, RESTORE_TIMEOUT_MS);

/** True when the app starts without the setting (it has a default or is optional). */
const isOptionalInSchema = (name: string) =>
  settingsSchema.shape[name as keyof typeof settingsSchema.shape].safeParse(undefined).success;

describe('app settings written by infra/main.bicep', () => {
  it('cover every setting the app reads, unless it is listed as optional with a reason', () => {
    const missing = SETTING_NAMES.filter((name) => !(name in settings) && !(name in OPTIONAL_SETTINGS));
    expect(missing).toEqual([]); // set it in main.bicep's appSettings, or add it to OPTIONAL_SETTINGS with a reason
  });

  it('include every setting the app cannot start without', () => {
    const required = SETTING_NAMES.filter((name) => !isOptionalInSchema(name));
    expect(required.filter((name) => !(name in settings))).toEqual([]);
    expect(required).toEqual(expect.arrayContaining(['ENTRA_TENANT_ID', 'KEY_VAULT_URL']));
  });

  it('list as optional only settings the app reads, may lack, and the Bicep does not set', () => {
    const problems = Object.keys(OPTIONAL_SETTINGS).flatMap((name) => {
      if (!(SETTING_NAMES as readonly string[]).includes(name)) return [`${name}: the app no longer reads it`];
      if (!isOptionalInSchema(name)) return [`${name}: the app cannot start without it`];
      if (name in settings) return [`${name}: main.bicep sets it`];
      if (!OPTIONAL_SETTINGS[name].trim()) return [`${name}: no reason given`];
      return [];
    });
    expect(problems).toEqual([]);
  });

  it("set nothing the app does not read, other than the runtime's own settings", () => {
    const unknown = Object.keys(settings).filter(
      (name) => !(SETTING_NAMES as readonly string[]).includes(name) && !RUNTIME_SETTING.test(name),
    );
    expect(unknown).toEqual([]);
  });

  it('connect to storage with the user-assigned identity and no account key', () => {
    expect(settings.AzureWebJobsStorage__credential).toBe('managedidentity');
    expect(settings.AzureWebJobsStorage__clientId).toMatch(/reference\('identity'\)\.outputs\.clientId/);
    for (const service of ['blob', 'queue', 'table']) {
      expect(settings[`AzureWebJobsStorage__${service}ServiceUri`]).toMatch(new RegExp(`outputs\\.${service}Endpoint`));
    }
    expect(settings).not.toHaveProperty('AzureWebJobsStorage');
  });

  it('point DefaultAzureCredential at the same user-assigned identity', () => {
    expect(settings.AZURE_CLIENT_ID).toBe(settings.AzureWebJobsStorage__clientId);
  });

  it('send telemetry with Entra authentication and a service name', () => {
    expect(settings.APPLICATIONINSIGHTS_CONNECTION_STRING).toMatch(
      /reference\('monitoring'\)\.outputs\.connectionString/,
    );
    expect(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toMatch(
      /ClientId=\{0\};Authorization=AAD.*outputs\.clientId/,
    );
    expect(settings.OTEL_SERVICE_NAME).toBe("[parameters('otelServiceName')]");
  });

  it('take ENTRA_TENANT_ID from a required parameter and KEY_VAULT_URL from the vault', () => {
    expect(settings.ENTRA_TENANT_ID).toBe("[parameters('entraTenantId')]");
    expect(main.parameters?.entraTenantId).toBeDefined();
    expect(main.parameters?.entraTenantId).not.toHaveProperty('defaultValue');
    expect(settings.KEY_VAULT_URL).toMatch(/reference\('keyVault'\)\.outputs\.uri/);
  });

  it('default each parameter-backed setting to the value the app itself defaults to', () => {
    const compared: string[] = [];
    const disagreements = Object.entries(settings).flatMap(([name, value]) => {
      const parameter = /^\[parameters\('([^']+)'\)\]$/.exec(value)?.[1];
      if (!parameter || !(SETTING_NAMES as readonly string[]).includes(name)) return [];
      const defaultValue = main.parameters?.[parameter]?.defaultValue;
      if (defaultValue === undefined) return [];
      const appDefault = settingsSchema.shape[name as keyof typeof settingsSchema.shape].safeParse(undefined);
      if (!appDefault.success || appDefault.data === undefined) return [];
      compared.push(name);
      return asText(appDefault.data) === asText(defaultValue)
        ? []
        : [`${name}: Bicep ${asText(defaultValue)}, app ${asText(appDefault.data)}`];
    });
    expect(disagreements).toEqual([]);
    expect(compared).toEqual(
      expect.arrayContaining([
        'KEY_VAULT_CLIENT_ID_SECRET_NAME',
        'KEY_VAULT_CLIENT_SECRET_SECRET_NAME',
        'KEY_VAULT_REFRESH_TOKEN_SECRET_NAME',
      ]),
    );
  });

  it('hold no secret: no key, SAS or listKeys, and no secure parameter feeding them', () => {
    const values = Object.values(settings).join('\n');
    expect(values).not.toMatch(/AccountKey=|SharedAccessSignature|sig=|listKeys|listSecrets|InstrumentationKey=/i);
    const secureParameters = Object.entries(main.parameters ?? {}).filter(([, p]) => /^secure/i.test(p.type));
    expect(secureParameters).toEqual([]);
    expect(JSON.stringify(main)).not.toMatch(/listKeys\(|listSecrets\(|listAccountSas\(/);
  });

  it('accept optional overrides that win over the computed settings', () => {
    expect(main.parameters?.appSettingsOverrides).toEqual({
      type: 'object',
      defaultValue: {},
      metadata: expect.any(Object),
    });
    expect(functionApp.passed.appSettingsOverrides?.value).toBe("[parameters('appSettingsOverrides')]");
    const merged = Object.values(functionApp.template.variables ?? {}).filter((v) => typeof v === 'string');
    expect(merged).toContain("[union(parameters('appSettings'), parameters('appSettingsOverrides'))]");
  });
});

/** A primitive as `String` writes it; anything else as JSON. */
function asText(value: unknown): string {
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value);
}
