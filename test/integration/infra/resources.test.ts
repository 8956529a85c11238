/**
 * What infra/main.bicep creates, read from the compiled template: names that must agree with the code
 * and host.json, the hosting plan, the security settings, the role assignments, the outputs azd reads,
 * and the azd parameter mapping in infra/main.parameters.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { settingsSchema } from '../../../shared/platform/config';
import { OUTBOUND_QUEUE_NAMES, POISON_SUFFIX, QUEUE_NAMES } from '../../../shared/workflow/constants';
import {
  REPO_ROOT,
  RESTORE_TIMEOUT_MS,
  allResources,
  compiledMainTemplate,
  moduleOf,
  resolve,
  resourcesOfType,
  type ArmTemplate,
  type CompiledModule,
} from './bicepCli';

let main: ArmTemplate;
let storage: CompiledModule;
let functionApp: CompiledModule;

beforeAll(async () => {
  main = await compiledMainTemplate();
  storage = moduleOf(main, 'storage');
  functionApp = moduleOf(main, 'functionapp');
}, RESTORE_TIMEOUT_MS);

const readJson = (relative: string) => JSON.parse(readFileSync(path.join(REPO_ROOT, relative), 'utf8'));

/** A module parameter as main.bicep passes it, with variables resolved. */
const passedTo = (module: CompiledModule, name: string) => resolve(module.passed[name]?.value, main);

describe('names shared by the code, host.json and the Bicep', () => {
  it('creates every queue of QUEUE_NAMES and its poison queue, the outbound queues, and no other', () => {
    const expected = [...QUEUE_NAMES.flatMap((queue) => [queue, `${queue}${POISON_SUFFIX}`]), ...OUTBOUND_QUEUE_NAMES];
    expect([...(passedTo(storage, 'queueNames') as string[])].sort()).toEqual([...expected].sort());
    const [queues] = resourcesOfType(storage.template, 'Microsoft.Storage/storageAccounts/queueServices/queues');
    expect(queues.copy).toMatchObject({ count: "[length(parameters('queueNames'))]" });
  });

  it('creates the referrals table and points REFERRALS_TABLE_NAME at it', () => {
    const appDefault = settingsSchema.shape.REFERRALS_TABLE_NAME.parse(undefined);
    expect(appDefault).toBe('referrals');
    expect(passedTo(storage, 'tableNames')).toEqual([appDefault]);
    const settings = functionApp.passed.appSettings.value as Record<string, string>;
    expect(resolve(settings.REFERRALS_TABLE_NAME, main)).toBe(appDefault);
    resourcesOfType(storage.template, 'Microsoft.Storage/storageAccounts/tableServices/tables');
  });

  it('has host.json read queue messages as plain text (Power Automate sends no base64)', () => {
    expect(readJson('host.json').extensions.queues.messageEncoding).toBe('none');
  });

  it('creates the blob container the Flex Consumption app deploys from', () => {
    resourcesOfType(storage.template, 'Microsoft.Storage/storageAccounts/blobServices/containers');
    const [site] = resourcesOfType(functionApp.template, 'Microsoft.Web/sites');
    expect(site.properties?.functionAppConfig.deployment.storage).toMatchObject({
      type: 'blobContainer',
      authentication: { type: 'UserAssignedIdentity' },
    });
  });
});

describe('hosting', () => {
  it('runs on the Flex Consumption plan (FC1) on Linux', () => {
    const [plan] = resourcesOfType(functionApp.template, 'Microsoft.Web/serverfarms');
    expect(plan.sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    expect(plan.properties?.reserved).toBe(true);
  });

  it('runs Node.js 22 from functionAppConfig.runtime', () => {
    const [site] = resourcesOfType(functionApp.template, 'Microsoft.Web/sites');
    const runtime = site.properties?.functionAppConfig.runtime;
    expect(runtime.name).toBe('node');
    expect(resolve(runtime.version, functionApp.template, functionApp.passed)).toBe('22');
  });

  it('runs as the user-assigned identity only, and is tagged for azd', () => {
    const [site] = resourcesOfType(functionApp.template, 'Microsoft.Web/sites');
    expect(site.identity).toMatchObject({ type: 'UserAssigned' });
    expect(functionApp.passed.appTags.value).toMatchObject({ 'azd-service-name': 'api' });
  });
});

describe('security', () => {
  it('keeps storage identity-only: no shared keys, no public blobs, TLS 1.2, HTTPS', () => {
    const [account] = resourcesOfType(storage.template, 'Microsoft.Storage/storageAccounts');
    expect(account.properties).toMatchObject({
      allowSharedKeyAccess: false,
      allowBlobPublicAccess: false,
      minimumTlsVersion: 'TLS1_2',
      supportsHttpsTrafficOnly: true,
    });
  });

  it('serves HTTPS only with TLS 1.2, FTP disabled', () => {
    const [site] = resourcesOfType(functionApp.template, 'Microsoft.Web/sites');
    expect(site.properties?.httpsOnly).toBe(true);
    expect(site.properties?.siteConfig).toMatchObject({
      minTlsVersion: '1.2',
      scmMinTlsVersion: '1.2',
      ftpsState: 'Disabled',
    });
  });

  it('disables basic publishing credentials for FTP and SCM', () => {
    const policies = resourcesOfType(functionApp.template, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    const byName = Object.fromEntries(policies.map((p) => [/'(ftp|scm)'\)\]$/.exec(p.name)?.[1], p.properties?.allow]));
    expect(byName).toEqual({ ftp: false, scm: false });
  });

  it('uses Key Vault with RBAC, soft delete and parameterised purge protection', () => {
    const keyVault = moduleOf(main, 'keyvault');
    const [vault] = resourcesOfType(keyVault.template, 'Microsoft.KeyVault/vaults');
    expect(vault.properties).toMatchObject({ enableRbacAuthorization: true, enableSoftDelete: true });
    expect(String(vault.properties?.enablePurgeProtection)).toContain("parameters('enablePurgeProtection')");
    expect(keyVault.passed.enablePurgeProtection.value).toBe("[parameters('enableKeyVaultPurgeProtection')]");
  });

  it('accepts only Entra-authenticated telemetry in Application Insights', () => {
    const monitoring = moduleOf(main, 'monitoring');
    const [component] = resourcesOfType(monitoring.template, 'Microsoft.Insights/components');
    expect(component.properties?.DisableLocalAuth).toBe(true);
    resourcesOfType(monitoring.template, 'Microsoft.OperationalInsights/workspaces');
  });

  it('puts Entra ID authentication in front of the app only when enableEntraAuth is on, answering 401', () => {
    expect(main.parameters?.enableEntraAuth).toMatchObject({ type: 'bool', defaultValue: false });
    const [auth] = resourcesOfType(functionApp.template, 'Microsoft.Web/sites/config').filter((r) =>
      r.name.includes('authsettingsV2'),
    );
    expect(auth.condition).toBe("[parameters('enableEntraAuth')]");
    expect(auth.properties?.globalValidation).toMatchObject({
      requireAuthentication: true,
      unauthenticatedClientAction: 'Return401',
    });
    expect(auth.properties?.identityProviders.azureActiveDirectory.registration.clientId).toBe(
      "[parameters('entraAuthClientId')]",
    );
  });
});

describe('role assignments', () => {
  const APP_ROLES = {
    'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
    'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
    'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
  };

  it('grant the app identity each documented role, named with guid()', () => {
    const rbac = moduleOf(main, 'rbac');
    const assignments = resourcesOfType(rbac.template, 'Microsoft.Authorization/roleAssignments');
    const roleIds = Object.values(rbac.template.variables?.roles as Record<string, string>);
    expect([...roleIds].sort()).toEqual(Object.values(APP_ROLES).sort());
    const appAssignments = assignments.filter((a) => a.condition === undefined);
    expect(appAssignments).toHaveLength(Object.keys(APP_ROLES).length);
    for (const assignment of assignments) {
      expect(assignment.name).toMatch(/^\[guid\(/);
      expect(assignment.properties?.roleDefinitionId).toMatch(
        /^\[subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', variables\('roles'\)\.\w+\)\]$/,
      );
    }
    for (const assignment of appAssignments) expect(assignment.properties?.principalType).toBe('ServicePrincipal');
  });

  it('give the deploying principal Key Vault Secrets Officer, so it can store the Partner Center secrets', () => {
    const rbac = moduleOf(main, 'rbac');
    const deployer = resourcesOfType(rbac.template, 'Microsoft.Authorization/roleAssignments').filter(
      (a) => a.condition !== undefined,
    );
    expect(deployer).toHaveLength(1);
    expect(deployer[0].properties?.roleDefinitionId).toContain('keyVaultSecretsOfficer');
    expect(deployer[0].properties?.principalId).toBe("[parameters('deployerPrincipalId')]");
  });

  it('exist before the app starts (the function app module waits for them)', () => {
    const [deployment] = allResources(main).filter(
      (r) => r.type === 'Microsoft.Resources/deployments' && r.name === 'functionapp',
    );
    expect(deployment.dependsOn).toEqual(expect.arrayContaining(['rbac']));
  });
});

describe('azd', () => {
  it('gets every output it expects', () => {
    expect(Object.keys(main.outputs ?? {})).toEqual(
      expect.arrayContaining([
        'AZURE_LOCATION',
        'AZURE_TENANT_ID',
        'SERVICE_API_NAME',
        'AZURE_FUNCTION_NAME',
        'SERVICE_API_URI',
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
        'KEY_VAULT_URL',
      ]),
    );
    expect(main.outputs?.SERVICE_API_URI.value).toMatch(/^\[format\('https:\/\/\{0\}'/);
  });

  it('maps main.parameters.json onto parameters that exist, and supplies every required one', () => {
    const mapped = Object.keys(readJson('infra/main.parameters.json').parameters);
    const declared = Object.entries(main.parameters ?? {});
    expect(mapped.filter((name) => !declared.some(([declaredName]) => declaredName === name))).toEqual([]);
    const required = declared.filter(([, p]) => !('defaultValue' in p)).map(([name]) => name);
    expect(required.filter((name) => !mapped.includes(name))).toEqual([]);
    expect(readJson('infra/main.parameters.json').parameters.environmentName.value).toBe('${AZURE_ENV_NAME}');
  });
});
