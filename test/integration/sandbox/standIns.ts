/**
 * Test helpers for the stand-in suites: start the three stand-ins on free loopback ports, call them with
 * node-fetch trusting the sandbox CA, and guard against any lookup of a non-loopback host name.
 */
import dns from 'node:dns';
import https from 'node:https';
import http from 'node:http';
import fetch, { type RequestInit, type Response } from 'node-fetch';
import { createSandboxTls, type SandboxTls } from '../../../sandbox/tls';
import { startEntra, type RunningEntra, type StartEntraOptions } from '../../../sandbox/entra/server';
import { startKeyVault, type RunningKeyVault, type StartKeyVaultOptions } from '../../../sandbox/key-vault/server';
import {
  startPartnerCenter,
  type RunningPartnerCenter,
  type StartPartnerCenterOptions,
} from '../../../sandbox/partner-center/server';

export const TENANT_ID = 'sandbox-partner-tenant';
export const APP_CLIENT = { clientId: 'cosell-bridge-test-app', clientSecret: 'app-secret-for-tests' };
export const VAULT_CLIENT = { clientId: 'cosell-bridge-test-identity', clientSecret: 'identity-secret-for-tests' };
export const PARTNER_ORG = { id: '7d23e5ca-19dc-4eaa-aac8-5e6b559f0d1d', name: 'Contoso Partner (sandbox)' };

/**
 * Makes every DNS lookup of a name other than localhost fail at once, and records it: the suites prove
 * that nothing tries to leave the machine (MSAL's instance discovery would ask login.microsoftonline.com).
 * Returns the names that were attempted and a function that restores the real lookup.
 */
export function guardNetwork(): { attempted: string[]; restore: () => void } {
  const attempted: string[] = [];
  const original = dns.lookup;
  const guarded = ((hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (error: NodeJS.ErrnoException | null) => void;
    if (hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '::1') {
      return (original as (...args: unknown[]) => void).call(dns, hostname, options, callback);
    }
    attempted.push(hostname);
    const error: NodeJS.ErrnoException = new Error(
      `getaddrinfo ENOTFOUND ${hostname} (blocked by the test network guard)`,
    );
    error.code = 'ENOTFOUND';
    process.nextTick(() => cb(error));
  }) as typeof dns.lookup;
  dns.lookup = guarded;
  return { attempted, restore: () => void (dns.lookup = original) };
}

/** The three stand-ins, started together. */
export interface StandIns {
  tls: SandboxTls;
  entra: RunningEntra;
  keyVault: RunningKeyVault;
  partnerCenter: RunningPartnerCenter;
  /** An https agent that trusts the sandbox CA (for node-fetch). */
  agent: https.Agent;
  close(): Promise<void>;
}

/** Starts TLS, Entra, Key Vault and the Partner Center simulator on free ports. */
export async function startStandIns(
  overrides: {
    entra?: Partial<StartEntraOptions>;
    keyVault?: Partial<StartKeyVaultOptions>;
    partnerCenter?: Partial<StartPartnerCenterOptions>;
  } = {},
): Promise<StandIns> {
  const tls = await createSandboxTls();
  const entra = await startEntra({ tls, tenantId: TENANT_ID, clients: [APP_CLIENT, VAULT_CLIENT], ...overrides.entra });
  const keyVault = await startKeyVault({ tls, entra: entra.verification, ...overrides.keyVault });
  const partnerCenter = await startPartnerCenter({
    entra: entra.verification,
    tls,
    partnerOrganization: PARTNER_ORG,
    ...overrides.partnerCenter,
  });
  const agent = new https.Agent({ ca: tls.caPem, keepAlive: true });
  return {
    tls,
    entra,
    keyVault,
    partnerCenter,
    agent,
    async close() {
      agent.destroy();
      await Promise.all([partnerCenter.close(), keyVault.close(), entra.close()]);
    },
  };
}

const httpAgent = new http.Agent({ keepAlive: false });

/** node-fetch with a timeout, the CA-trusting agent for https and a fresh connection for http. */
export function call(url: string, init: RequestInit & { httpsAgent?: https.Agent } = {}): Promise<Response> {
  const { httpsAgent, ...rest } = init;
  return fetch(url, { timeout: 10_000, agent: url.startsWith('https:') ? httpsAgent : httpAgent, ...rest });
}

/** A form-encoded POST body. */
export function form(fields: Record<string, string>): { body: string; headers: Record<string, string> } {
  return {
    body: new URLSearchParams(fields).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  };
}

/** Decodes a JWT's claims (no checks). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}
