/**
 * Two broker instances, one vault, one lease table and one identity provider, with every I/O step
 * interleaved by fast-check's scheduler. The stand-ins run over HTTPS, whose timing a scheduler cannot
 * control, so this test uses in-memory doubles: a versioned vault without compare-and-set (like Key
 * Vault), the lease table with ETags, and the Entra stand-in's own refresh-token store (rotation and
 * reuse detection) behind a fetch function.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Response } from 'node-fetch';
import { RestError } from '@azure/core-rest-pipeline';
import type { KeyVaultSecret } from '@azure/keyvault-secrets';
import { RefreshTokenStore, sandboxUser } from '../../../sandbox/entra/refreshTokenStore';
import { TokenBroker, type FetchLike, type LeaseTableClient, type SecretClientLike } from '../../../shared/auth';
import { createLogger, silentSink } from '../../../shared/platform/logging';
import { FakeClock, InMemoryLeaseTable, SECRET_NAMES } from './helpers/authStandIns';

/** Key Vault's model: every set is a new version, a get returns the latest, no compare-and-set. */
class VersionedVault {
  readonly versions = new Map<string, Array<{ value: string; version: string }>>();

  set(name: string, value: string): KeyVaultSecret {
    const version = randomBytes(16).toString('hex');
    const list = this.versions.get(name) ?? [];
    list.push({ value, version });
    this.versions.set(name, list);
    return { name, value, properties: { name, version, vaultUrl: 'https://vault.test' } };
  }

  get(name: string): KeyVaultSecret {
    const latest = this.versions.get(name)?.at(-1);
    if (!latest) throw new RestError('SecretNotFound', { statusCode: 404, code: 'SecretNotFound' }); // what the SDK throws
    return {
      name,
      value: latest.value,
      properties: { name, version: latest.version, vaultUrl: 'https://vault.test' },
    };
  }
}

/** The token endpoint over a RefreshTokenStore: rotates on every redemption, revokes the family on reuse. */
function identityProvider(store: RefreshTokenStore, stats: { redemptions: number; refused: number }) {
  return async (_url: string, init?: { body?: unknown }): Promise<Response> => {
    const form = new URLSearchParams(typeof init?.body === 'string' ? init.body : '');
    const outcome = store.redeem(form.get('refresh_token') ?? '');
    if (!outcome.ok) {
      stats.refused++;
      return new Response(JSON.stringify({ error: 'invalid_grant', error_codes: [70000] }), { status: 400 });
    }
    stats.redemptions++;
    return new Response(
      JSON.stringify({
        access_token: `at-${randomBytes(12).toString('hex')}`,
        expires_in: '3599',
        refresh_token: outcome.refreshToken,
      }),
      { status: 200 },
    );
  };
}

describe('Class: TokenBroker (two instances, every interleaving)', () => {
  it('never redeems a spent refresh token, whatever order the I/O completes in', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.boolean(), { minLength: 2, maxLength: 6 }),
        async (s, forcedCalls) => {
          // Prepare
          const store = new RefreshTokenStore();
          const vault = new VersionedVault();
          vault.set(SECRET_NAMES.clientId, 'client');
          vault.set(SECRET_NAMES.clientSecret, 'secret');
          vault.set(SECRET_NAMES.refreshToken, store.issue(sandboxUser()));
          const idp = { redemptions: 0, refused: 0 };
          const table = new InMemoryLeaseTable();
          const clock = new FakeClock();
          const scheduledVault: SecretClientLike = {
            getSecret: s.scheduleFunction(async (name: string) => vault.get(name)),
            setSecret: s.scheduleFunction(async (name: string, value: string) => vault.set(name, value)),
          };
          const scheduledTable: LeaseTableClient = {
            createTable: s.scheduleFunction(async () => table.createTable()),
            getEntity: s.scheduleFunction((pk: string, rk: string) => table.getEntity(pk, rk)),
            createEntity: s.scheduleFunction((entity: Record<string, unknown>) => table.createEntity(entity)),
            updateEntity: s.scheduleFunction(
              (entity: Record<string, unknown>, mode?: string, options?: { etag?: string }) =>
                table.updateEntity(entity, mode, options),
            ),
          };
          const fetch = s.scheduleFunction(identityProvider(store, idp)) as unknown as FetchLike;
          const sleep = s.scheduleFunction(async (_delayMs: number) => undefined);
          const brokers = ['instance-a', 'instance-b'].map(
            (instanceId) =>
              new TokenBroker({
                secretClient: scheduledVault,
                leaseTable: scheduledTable,
                tokenEndpoint: { authorityHost: 'https://login.test', tenantId: 'tenant' },
                resource: 'https://api.partner.microsoft.com',
                secretNames: { ...SECRET_NAMES },
                fetch,
                clock,
                sleep,
                random: () => 0.5,
                instanceId,
                logger: createLogger({ sink: silentSink }),
              }),
          );

          // Act: both instances start a cold call, then each forced call (or plain call) in parallel
          const calls = brokers.flatMap((broker) => [
            broker.getAccessToken(),
            ...forcedCalls.map((forceRefresh) => broker.getAccessToken({ forceRefresh })),
          ]);
          const results = await s.waitFor(Promise.allSettled(calls));

          // Assess
          const failures = results.filter((r) => r.status === 'rejected');
          expect(failures).toEqual([]);
          expect(store.reuseDetections).toBe(0);
          expect(idp.refused).toBe(0);
          // every redemption stored its rotated successor: versions = seed + one per redemption
          expect(vault.versions.get(SECRET_NAMES.refreshToken)?.length).toBe(1 + idp.redemptions);
        },
      ),
      { numRuns: 60 },
    );
  });
});
