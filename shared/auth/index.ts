/**
 * The token broker: Partner Center App+User access tokens from the refresh token kept in Key Vault
 * (cache, single flight, cross-instance lease, rotation written back, reauthorization state), and the
 * device-code consent flow that stores the first refresh token.
 */
export { TokenBroker } from './tokenBroker';
export { createTokenBrokerFromSettings, type TokenBrokerFactoryDeps } from './createTokenBrokerFromSettings';
export {
  createDefaultCredential,
  defaultCredentialOptions,
  shouldDisableInstanceDiscovery,
  DISABLE_INSTANCE_DISCOVERY_SETTING,
  type DefaultCredentialOptions,
} from './defaultCredential';
export {
  AuthError,
  ReauthorizationRequiredError,
  TokenEndpointError,
  SecretStoreError,
  TokenLeaseError,
  isReauthorizationRequiredError,
} from './errors';
export { runAuthConsent, CONSENT_SCOPE, type AuthConsentOptions, type AuthConsentResult } from './runAuthConsent';
export { BrokerState, TOKEN_BROKER_DEFAULTS, TOKEN_LEASE_KEYS, RETRY_DEFAULTS } from './constants';
export type {
  AccessTokenProvider,
  BrokerHealth,
  BrokerStats,
  Clock,
  FetchLike,
  GetAccessTokenOptions,
  LeaseTableClient,
  SecretClientLike,
  TokenBrokerOptions,
} from './types';
export type { RetryPolicy } from './retry';
