/**
 * Benchmark: Key Vault reads, token redemptions and Key Vault writes per 1,000 Partner Center calls
 * within one access-token lifetime, against the Entra and Key Vault stand-ins (HTTPS, in-process) and
 * Azurite (the lease table).
 *
 * Each call is `getAccessToken()` followed by the check a Partner Center call would make: the token is
 * verified with the Entra stand-in's keys for the Partner Center audience (signature, expiry, audience).
 * Calls run 16 at a time (PARTNER_CENTER_CONCURRENCY's default) while an injected clock walks through
 * one token lifetime, from the first call to just before the renewal point.
 *
 * Two windows are measured in one process:
 * - cold start: the first token lifetime of a new instance (it also reads the client id and secret,
 *   which stay cached for the life of the process);
 * - steady state: the next token lifetime (what every later hour costs).
 * The last line is one JSON object for the steady-state window, with the cold start alongside:
 * {"benchmark":"tokens","partnerCenterCalls":1000,"keyVaultReads":N,"tokenRedemptions":N,"keyVaultWrites":N,...}
 * Targets: keyVaultReads ≤ 2, tokenRedemptions = 1. What counts: every Key Vault GET / SET attempt as
 * the Key Vault stand-in served it (cross-checked with the broker's own counters).
 *
 * Run: `npm run build && node dist/bench/tokens.js` (options: `--calls N`, default 1000).
 */
import https from 'node:https';
import nodeFetch from 'node-fetch';
import { TableClient } from '@azure/data-tables';
import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/core-auth';
import { startAzurite } from '../sandbox/azurite';
import { createSandboxTls } from '../sandbox/tls';
import { startEntra } from '../sandbox/entra/server';
import { startKeyVault, type KeyVaultStats } from '../sandbox/key-vault/server';
import { AccessTokenVerifier } from '../sandbox/entra/tokenVerifier';
import { TokenBroker } from '../shared/auth';
import { createLogger, silentSink } from '../shared/platform/logging';

const PARTNER_CENTER_RESOURCE = 'https://api.partner.microsoft.com';
const SECRET_NAMES = {
  clientId: 'partner-center-client-id',
  clientSecret: 'partner-center-client-secret',
  refreshToken: 'partner-center-refresh-token',
};
const LIFETIME_SECONDS = 3600;
const MARGIN_SECONDS = 300;
const CONCURRENCY = 16;

/** Counts of one measured window. */
interface WindowFigures {
  partnerCenterCalls: number;
  keyVaultReads: number;
  tokenRedemptions: number;
  keyVaultWrites: number;
  elapsedMs: number;
}

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

const sum = (record: Record<string, number>): number => Object.values(record).reduce((a, b) => a + b, 0);
const kvCalls = (stats: KeyVaultStats, operation: 'get' | 'set'): number =>
  sum(stats.calls[operation] ?? {}) - (stats.calls[operation]?.['401'] ?? 0);

async function main(): Promise<void> {
  const calls = option('--calls', 1000);
  const tls = await createSandboxTls();
  const app = { clientId: 'bench-app', clientSecret: 'bench-app-secret-0123456789' };
  const identity = { clientId: 'bench-identity', clientSecret: 'bench-identity-secret-0123456789' };
  const entra = await startEntra({ tls, clients: [app, identity], accessTokenLifetimeSeconds: LIFETIME_SECONDS });
  const keyVault = await startKeyVault({
    tls,
    entra: entra.verification,
    secrets: {
      [SECRET_NAMES.clientId]: app.clientId,
      // Tagged with the client id, as docs/auth.md recommends: a cold instance reads 2 secrets, not 3.
      [SECRET_NAMES.clientSecret]: { value: app.clientSecret, tags: { clientId: app.clientId } },
      [SECRET_NAMES.refreshToken]: entra.issueRefreshToken(),
    },
  });
  const azurite = await startAzurite({ inMemory: true });
  const agent = new https.Agent({ ca: tls.caPem });
  try {
    // The app's identity towards Key Vault (managed identity in Azure): tokens minted by the Entra stand-in.
    const credential: TokenCredential = {
      getToken: async () => ({
        token: entra.issueAccessToken({ audience: keyVault.resource, user: null, clientId: identity.clientId }),
        expiresOnTimestamp: Date.now() + LIFETIME_SECONDS * 1000,
      }),
    };
    let nowMs = Date.now();
    const broker = new TokenBroker({
      secretClient: new SecretClient(keyVault.url, credential, { agent, retryOptions: { maxRetries: 0 } }),
      leaseTable: TableClient.fromConnectionString(azurite.connectionString, 'referrals', {
        allowInsecureConnection: true,
      }),
      tokenEndpoint: { authorityHost: entra.authorityHost, tenantId: entra.tenantId },
      resource: PARTNER_CENTER_RESOURCE,
      secretNames: SECRET_NAMES,
      expiryMarginSeconds: MARGIN_SECONDS,
      fetch: (url, init) => nodeFetch(url, { ...init, agent }),
      clock: { nowMs: () => nowMs },
      logger: createLogger({ sink: silentSink }),
    });
    const verifier = new AccessTokenVerifier(entra.verification, { audiences: [PARTNER_CENTER_RESOURCE] });

    /** `calls` getAccessToken + verify pairs, CONCURRENCY at a time, the clock walking one lifetime up to the renewal point. */
    const runWindow = async (): Promise<WindowFigures> => {
      const startedAt = process.hrtime.bigint();
      const brokerBefore = broker.stats();
      const kvBefore = keyVault.stats();
      const entraBefore = entra.stats().redemptions.refresh_token;
      const windowStartMs = nowMs;
      const stepMs = ((LIFETIME_SECONDS - MARGIN_SECONDS) * 1000 - 1) / calls;
      let done = 0;
      let rejected = 0;
      const worker = async (): Promise<void> => {
        while (done < calls) {
          const index = done++;
          nowMs = Math.max(nowMs, Math.floor(windowStartMs + index * stepMs));
          const token = await broker.getAccessToken();
          if (!verifier.verify(`Bearer ${token}`).ok) rejected++;
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
      if (rejected > 0) throw new Error(`${rejected} tokens failed verification`);
      const brokerAfter = broker.stats();
      const kvAfter = keyVault.stats();
      const figures: WindowFigures = {
        partnerCenterCalls: calls,
        keyVaultReads: kvCalls(kvAfter, 'get') - kvCalls(kvBefore, 'get'),
        tokenRedemptions: entra.stats().redemptions.refresh_token - entraBefore,
        keyVaultWrites: kvCalls(kvAfter, 'set') - kvCalls(kvBefore, 'set'),
        elapsedMs: Math.round(Number(process.hrtime.bigint() - startedAt) / 1e6),
      };
      const own = {
        keyVaultReads: brokerAfter.keyVaultReads - brokerBefore.keyVaultReads,
        tokenRedemptions: brokerAfter.redemptions - brokerBefore.redemptions,
        keyVaultWrites: brokerAfter.keyVaultWrites - brokerBefore.keyVaultWrites,
      };
      if (
        own.keyVaultReads !== figures.keyVaultReads ||
        own.tokenRedemptions !== figures.tokenRedemptions ||
        own.keyVaultWrites !== figures.keyVaultWrites
      ) {
        throw new Error(
          `Broker counters ${JSON.stringify(own)} disagree with the stand-ins' ${JSON.stringify(figures)}`,
        );
      }
      return figures;
    };

    const cold = await runWindow();
    nowMs += MARGIN_SECONDS * 1000; // the token reaches its renewal point: the next lifetime starts
    const steady = await runWindow();
    const reuseDetections = entra.stats().reuseDetections;
    console.log(
      `cold start   (first lifetime):  ${cold.keyVaultReads} Key Vault reads (client secret, with the client id as its tag, and refresh token; 3 without the tag), ${cold.tokenRedemptions} redemption, ${cold.keyVaultWrites} write, ${cold.elapsedMs} ms`,
    );
    console.log(
      `steady state (next lifetime):   ${steady.keyVaultReads} Key Vault read (refresh token, inside the lease), ${steady.tokenRedemptions} redemption, ${steady.keyVaultWrites} write, ${steady.elapsedMs} ms`,
    );
    console.log(
      JSON.stringify({
        benchmark: 'tokens',
        partnerCenterCalls: steady.partnerCenterCalls,
        keyVaultReads: steady.keyVaultReads,
        tokenRedemptions: steady.tokenRedemptions,
        keyVaultWrites: steady.keyVaultWrites,
        window: 'steady state: one token lifetime of a running instance',
        coldStart: {
          keyVaultReads: cold.keyVaultReads,
          tokenRedemptions: cold.tokenRedemptions,
          keyVaultWrites: cold.keyVaultWrites,
        },
        reuseDetections,
        elapsedMs: steady.elapsedMs,
      }),
    );
  } finally {
    agent.destroy();
    await azurite.stop();
    await keyVault.close();
    await entra.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench/tokens failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
