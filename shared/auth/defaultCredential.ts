/**
 * The app's `DefaultAzureCredential` (managed identity in Azure; developer credentials or the sandbox's
 * EnvironmentCredential locally), with the one option the sandbox needs.
 *
 * MSAL validates an authority it does not know by asking login.microsoftonline.com ("instance
 * discovery", docs/sandbox.md). With AZURE_AUTHORITY_HOST pointing at the sandbox's Entra stand-in and no
 * internet, that fails (EnvironmentCredential answers 400 after a ~5 s wait), so instance discovery is
 * turned off when the setting AZURE_DISABLE_INSTANCE_DISCOVERY is true (the sandbox sets it), or when the
 * authority host is a loopback address (a safety net for commands run with a hand-made environment). In
 * Azure neither applies and MSAL behaves as usual.
 */
import type { Agent as HttpsAgent } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import type { DefaultAzureCredentialOptions } from '@azure/identity';
import type * as AzureIdentityModule from '@azure/identity';
import { lazyModule } from '../platform/lazy';

// Loaded on first use: @azure/identity is heavy and most function modules never need it at load time.
const azureIdentity = lazyModule<typeof AzureIdentityModule>(require, '@azure/identity');

/** The setting (shared/platform/config.ts) that turns instance discovery off. */
export const DISABLE_INSTANCE_DISCOVERY_SETTING = 'AZURE_DISABLE_INSTANCE_DISCOVERY';

/**
 * True when MSAL's instance discovery must be off for `env`: AZURE_DISABLE_INSTANCE_DISCOVERY is true
 * (the same spellings config.ts accepts) or AZURE_AUTHORITY_HOST is a loopback address.
 */
export function shouldDisableInstanceDiscovery(env: Record<string, string | undefined> = process.env): boolean {
  if (['true', '1', 'yes'].includes((env[DISABLE_INSTANCE_DISCOVERY_SETTING] ?? '').trim().toLowerCase())) return true;
  const authority = env.AZURE_AUTHORITY_HOST;
  if (!authority) return false;
  try {
    const host = new URL(authority).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/** What {@link createDefaultCredential} takes. */
export interface DefaultCredentialOptions {
  /** @default shouldDisableInstanceDiscovery(env) */
  disableInstanceDiscovery?: boolean;
  /** Read when `disableInstanceDiscovery` is not given. @default process.env */
  env?: Record<string, string | undefined>;
  /** Agent trusting a private CA (in-process tests; a separate process uses NODE_EXTRA_CA_CERTS). */
  httpsAgent?: HttpsAgent;
}

/** Options for DefaultAzureCredential. */
export function defaultCredentialOptions(options: DefaultCredentialOptions = {}): DefaultAzureCredentialOptions {
  const disable = options.disableInstanceDiscovery || shouldDisableInstanceDiscovery(options.env);
  return {
    ...(disable ? { disableInstanceDiscovery: true } : {}),
    ...(options.httpsAgent ? { agent: options.httpsAgent } : {}),
  };
}

/**
 * A new DefaultAzureCredential with {@link defaultCredentialOptions}. Build it once per process and
 * share it (its token cache lives in the instance).
 *
 * @example
 * const credential = createDefaultCredential();
 */
export function createDefaultCredential(options: DefaultCredentialOptions = {}): TokenCredential {
  const { DefaultAzureCredential } = azureIdentity();
  return new DefaultAzureCredential(defaultCredentialOptions(options));
}
