// The co-sell referral bridge on Azure: a Function App on the Flex Consumption plan (Node.js 22) that
// runs as a user-assigned managed identity and reaches Storage, Key Vault and Application Insights with
// Entra ID only (no keys, no connection strings with secrets). `azd up` deploys it (azure.yaml);
// CI compiles and lints it offline with `bash scripts/bicep.sh` (docs/deploy.md).
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------------
// Parameters (infra/main.parameters.json maps them to azd environment variables)

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Azure region of every resource (a region that offers the Flex Consumption plan).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user or service principal; it gets Key Vault Secrets Officer to store the Partner Center secrets. Empty grants nothing.')
param principalId string = deployer().objectId

@description('Type of principalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@minLength(1)
@description('ENTRA_TENANT_ID: the partner\'s Entra tenant id (or domain) that issued the Partner Center refresh token.')
param entraTenantId string

@description('KEY_VAULT_CLIENT_ID_SECRET_NAME: name of the Key Vault secret holding the Partner Center app\'s client id.')
param keyVaultClientIdSecretName string = 'partner-center-client-id'

@description('KEY_VAULT_CLIENT_SECRET_SECRET_NAME: name (not value) of the Key Vault secret holding the Partner Center app\'s client secret.')
param keyVaultClientSecretSecretName string = 'partner-center-client-secret'

@description('KEY_VAULT_REFRESH_TOKEN_SECRET_NAME: name (not value) of the Key Vault secret holding the refresh token.')
param keyVaultRefreshTokenSecretName string = 'partner-center-refresh-token'

@description('OTEL_SERVICE_NAME: service.name (cloud role name) of the app\'s telemetry.')
param otelServiceName string = 'cosell-referral-bridge'

@description('More app settings, or replacements (name -> string value), e.g. {"PARTNER_CENTER_CONCURRENCY": "8"}. They win over the computed settings. Never put a secret here: secrets live in Key Vault.')
param appSettingsOverrides object = {}

@description('Put App Service Authentication (Entra ID) in front of the HTTP functions: unauthenticated requests get 401.')
param enableEntraAuth bool = false

@description('Application (client) id of the app registration that represents this API (needed when enableEntraAuth).')
param entraAuthClientId string = ''

@description('Tenant of that app registration (the tenant cloud callers sign in to); default: this deployment\'s tenant.')
param entraAuthTenantId string = tenant().tenantId

@description('Accepted token audiences; empty means api://<entraAuthClientId> and <entraAuthClientId>.')
param entraAuthAllowedAudiences string[] = []

@description('Client application ids allowed to call; empty allows any application of the tenant with a token for the audience.')
param entraAuthAllowedClientApplications string[] = []

@description('Key Vault purge protection. Recommended for production (the refresh token is hard to replace); it can never be turned off again, and it keeps a deleted vault\'s name taken for the retention period.')
param enableKeyVaultPurgeProtection bool = true

@description('Most instances the app scales out to. Calls in flight to Partner Center are at most this times PARTNER_CENTER_CONCURRENCY.')
@minValue(1)
@maxValue(1000)
param functionMaximumInstanceCount int = 10

@description('Memory of one Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048

// ---------------------------------------------------------------------------------------------------
// Names. The table and queues must match shared/workflow/constants.ts and REFERRALS_TABLE_NAME
// (test/integration/infra checks it).

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var names = {
  functionApp: 'func-${resourceToken}'
  plan: 'plan-${resourceToken}'
  identity: 'id-${resourceToken}'
  storage: 'st${resourceToken}'
  deploymentContainer: 'app-package-${resourceToken}'
  logAnalytics: 'log-${resourceToken}'
  applicationInsights: 'appi-${resourceToken}'
  keyVault: 'kv-${resourceToken}'
}
var referralsTableName = 'referrals'
var storageQueueNames = [
  'referral-intake'
  'referral-intake-poison'
  'referral-link'
  'referral-link-poison'
  'referral-submit'
  'referral-submit-poison'
  'referral-sync'
  'referral-sync-poison'
  'referral-events'
  'referral-update'
  'referral-update-poison'
]

// ---------------------------------------------------------------------------------------------------
// Resources

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: names.storage
    location: location
    tags: tags
    deploymentContainerName: names.deploymentContainer
    queueNames: storageQueueNames
    tableNames: [
      referralsTableName
    ]
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    enablePurgeProtection: enableKeyVaultPurgeProtection
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    // Names known before deployment (not module outputs), so what-if can predict the assignments.
    storageAccountName: names.storage
    keyVaultName: names.keyVault
    applicationInsightsName: names.applicationInsights
    appIdentityName: names.identity
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
  // The parameters above are plain names, so the resources they name must exist first.
  dependsOn: [
    identity
    storage
    keyVault
    monitoring
  ]
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    appTags: {
      'azd-env-name': environmentName
      'azd-service-name': 'api'
    }
    identityId: identity.outputs.id
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
    // Every setting the app needs in Azure. Names the app reads are in shared/platform/config.ts;
    // the others are read by the Functions host, the Azure SDK credential or OpenTelemetry.
    appSettings: {
      // Identity-based host storage: the user-assigned identity, per-service URIs, no account key.
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identity.outputs.clientId
      AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
      AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
      AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
      // DefaultAzureCredential in the app's own code picks the user-assigned identity.
      AZURE_CLIENT_ID: identity.outputs.clientId
      // Telemetry with Entra authentication (the component has local auth disabled).
      APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
      OTEL_SERVICE_NAME: otelServiceName
      // The app's own settings.
      REFERRALS_TABLE_NAME: referralsTableName
      ENTRA_TENANT_ID: entraTenantId
      KEY_VAULT_URL: keyVault.outputs.uri
      KEY_VAULT_CLIENT_ID_SECRET_NAME: keyVaultClientIdSecretName
      KEY_VAULT_CLIENT_SECRET_SECRET_NAME: keyVaultClientSecretSecretName
      KEY_VAULT_REFRESH_TOKEN_SECRET_NAME: keyVaultRefreshTokenSecretName
    }
    appSettingsOverrides: appSettingsOverrides
    enableEntraAuth: enableEntraAuth
    entraAuthClientId: entraAuthClientId
    entraAuthTenantId: entraAuthTenantId
    entraAuthAllowedAudiences: entraAuthAllowedAudiences
    entraAuthAllowedClientApplications: entraAuthAllowedClientApplications
  }
  // The host starts as soon as the app exists: give its identity its roles first.
  dependsOn: [
    rbac
  ]
}

// ---------------------------------------------------------------------------------------------------
// Outputs (azd stores them in the environment: `azd env get-values`)

@description('Region of the deployment.')
output AZURE_LOCATION string = location

@description('Tenant of the deployment.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Resource group holding everything.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('Name of the Function App (azd service `api`).')
output SERVICE_API_NAME string = functionApp.outputs.name

@description('Name of the Function App.')
output AZURE_FUNCTION_NAME string = functionApp.outputs.name

@description('Base URL of the app; the API is under /api.')
output SERVICE_API_URI string = 'https://${functionApp.outputs.defaultHostName}'

@description('Connection string of Application Insights (Entra-authenticated ingestion only).')
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString

@description('KEY_VAULT_URL, for `npm run auth:consent`.')
output KEY_VAULT_URL string = keyVault.outputs.uri

@description('Name of the Key Vault, for `az keyvault secret set --vault-name`.')
output KEY_VAULT_NAME string = keyVault.outputs.name

@description('ENTRA_TENANT_ID, for `npm run auth:consent`.')
output ENTRA_TENANT_ID string = entraTenantId

@description('Name of the storage account.')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
