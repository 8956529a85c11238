/**
 * Resolves a binding's `connection` (the NAME of an app setting, default `AzureWebJobsStorage`) to a
 * queue service client, as the host does: the setting `<name>` (or `AzureWebJobs<name>`) holding a
 * connection string (Azurite locally, `UseDevelopmentStorage=true` included), else an identity-based
 * connection `<name>__queueServiceUri` / `<name>__serviceUri` / `<name>__accountName` with
 * DefaultAzureCredential (`<name>__clientId` picks a user-assigned identity) [identity path not
 * exercised by the tests: no Azure here].
 */
import { QueueServiceClient } from '@azure/storage-queue';
import type * as IdentityModule from '@azure/identity';
import { lazyModule } from '../../shared/platform/lazy';
import { LocalHostError } from './errors';

/** Loaded only for identity-based connections: the local path needs no credential library. */
const identitySdk = lazyModule<typeof IdentityModule>(require, '@azure/identity');

/** The app setting queue bindings use when they name none. */
export const DEFAULT_STORAGE_CONNECTION = 'AzureWebJobsStorage';

/** Builds (and caches per connection name) queue service clients from app settings. */
export class StorageConnections {
  readonly #env: Record<string, string | undefined>;
  readonly #clients = new Map<string, QueueServiceClient>();

  constructor(env: Record<string, string | undefined> = process.env) {
    this.#env = env;
  }

  /** The client for `connection`; throws {@link LocalHostError} (`storage`) when no setting defines it. */
  queueService(connection: string | undefined): QueueServiceClient {
    const name = connection && connection.trim() !== '' ? connection : DEFAULT_STORAGE_CONNECTION;
    const cached = this.#clients.get(name);
    if (cached) return cached;
    const client = this.#create(name);
    this.#clients.set(name, client);
    return client;
  }

  #create(name: string): QueueServiceClient {
    const env = this.#env;
    const pipelineOptions = { retryOptions: { maxTries: 4, tryTimeoutInMs: 30_000 } };
    const connectionString = env[name] ?? env[`AzureWebJobs${name}`];
    if (connectionString && connectionString.trim() !== '') {
      try {
        return QueueServiceClient.fromConnectionString(connectionString, pipelineOptions);
      } catch (error) {
        throw new LocalHostError(`App setting ${name} is not a usable storage connection string`, {
          code: 'storage',
          subject: name,
          cause: error,
        });
      }
    }
    const accountName = env[`${name}__accountName`];
    const url =
      env[`${name}__queueServiceUri`] ??
      env[`${name}__serviceUri`] ??
      (accountName ? `https://${accountName}.queue.core.windows.net` : undefined);
    if (url) {
      const { DefaultAzureCredential } = identitySdk();
      const clientId = env[`${name}__clientId`];
      return new QueueServiceClient(
        url,
        new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {}),
        pipelineOptions,
      );
    }
    throw new LocalHostError(
      `Missing value for ${name} in local.settings.json (or the environment): queue bindings need a storage connection ` +
        `(a connection string, e.g. Azurite's, or ${name}__queueServiceUri for an identity-based connection)`,
      { code: 'storage', subject: name },
    );
  }
}
