// The Function App on the Flex Consumption plan (FC1), Node.js on Linux, running as the user-assigned
// identity. Hardened: HTTPS only, TLS 1.2, FTP off, basic (publishing-profile) credentials off.
// Optional App Service Authentication (Entra ID) in front of the HTTP functions.

@description('Name of the Function App.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags for the plan.')
param tags object

@description('Tags for the app (must carry azd-service-name for `azd deploy`).')
param appTags object

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('URL of the blob container that holds the deployment package.')
param deploymentContainerUrl string

@description('App settings computed by main.bicep (name -> value).')
param appSettings object

@description('Extra or replacement app settings (name -> value); they win over appSettings.')
param appSettingsOverrides object = {}

@description('Node.js major version (functionAppConfig.runtime).')
param nodeVersion string = '22'

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 10

@description('Memory of one instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Put App Service Authentication (Entra ID) in front of the app.')
param enableEntraAuth bool = false

@description('Application (client) id of the app registration that represents this API.')
param entraAuthClientId string = ''

@description('Tenant of that app registration (the tenant the callers sign in to).')
param entraAuthTenantId string

@description('Accepted token audiences; empty means api://<entraAuthClientId> and <entraAuthClientId>.')
param entraAuthAllowedAudiences string[] = []

@description('Client application ids allowed to call the API; empty allows any application of the tenant that holds a token for the audience.')
param entraAuthAllowedClientApplications string[] = []

@description('Paths served without authentication when Entra auth is on.')
param entraAuthExcludedPaths string[] = [
  '/api/health'
]

var settings = union(appSettings, appSettingsOverrides)

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: appTags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        for setting in items(settings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
  }
}

resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource authSettings 'Microsoft.Web/sites/config@2025-03-01' = if (enableEntraAuth) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: entraAuthExcludedPaths
    }
    httpSettings: {
      requireHttps: true
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: entraAuthClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${entraAuthTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: empty(entraAuthAllowedAudiences)
            ? [
                'api://${entraAuthClientId}'
                entraAuthClientId
              ]
            : entraAuthAllowedAudiences
          // Without a list, any client application of the tenant with a token for the audience may call.
          defaultAuthorizationPolicy: empty(entraAuthAllowedClientApplications)
            ? null
            : {
                allowedApplications: entraAuthAllowedClientApplications
              }
        }
      }
    }
  }
}

@description('Name of the Function App.')
output name string = site.name

@description('Default host name of the app.')
output defaultHostName string = site.properties.defaultHostName
