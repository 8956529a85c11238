import type { TokenCredential } from '@azure/core-auth';
import type { TableClient } from '@azure/data-tables';
import type { QueueClient } from '@azure/storage-queue';
import type { Settings } from './config';
import type * as DataTablesModule from '@azure/data-tables';
import type * as StorageQueueModule from '@azure/storage-queue';
import { lazyModule } from './lazy';

/**
 * Storage clients built from the same settings the Functions host reads for `AzureWebJobsStorage`:
 * a connection string (Azurite locally), or an identity-based connection in Azure
 * (`AzureWebJobsStorage__accountName` or `__tableServiceUri`/`__queueServiceUri` + a managed identity).
 * The SDKs are required lazily so that loading a function module stays cheap (cold start).
 */

const dataTables = lazyModule<typeof DataTablesModule>(require, '@azure/data-tables');
const storageQueue = lazyModule<typeof StorageQueueModule>(require, '@azure/storage-queue');

/** True when storage uses a connection string rather than an identity. */
export function usesConnectionString(settings: Settings): boolean {
  return Boolean(settings.AzureWebJobsStorage);
}

/** A TableClient for `tableName`. */
export function createTableClient(settings: Settings, tableName: string, credential?: TokenCredential): TableClient {
  const { TableClient: Client } = dataTables();
  if (settings.AzureWebJobsStorage) {
    return Client.fromConnectionString(settings.AzureWebJobsStorage, tableName, { allowInsecureConnection: true });
  }
  const url =
    settings.AzureWebJobsStorage__tableServiceUri ??
    `https://${settings.AzureWebJobsStorage__accountName}.table.core.windows.net`;
  return new Client(url, tableName, requireCredential(credential));
}

/** A QueueClient for `queueName`. */
export function createQueueClient(settings: Settings, queueName: string, credential?: TokenCredential): QueueClient {
  const { QueueServiceClient } = storageQueue();
  if (settings.AzureWebJobsStorage) {
    return QueueServiceClient.fromConnectionString(settings.AzureWebJobsStorage).getQueueClient(queueName);
  }
  const url =
    settings.AzureWebJobsStorage__queueServiceUri ??
    `https://${settings.AzureWebJobsStorage__accountName}.queue.core.windows.net`;
  return new QueueServiceClient(url, requireCredential(credential)).getQueueClient(queueName);
}

/** Sends JSON messages as plain text (host.json `messageEncoding: none`), creating the queue once. */
export class JsonQueueSender {
  #ready: Promise<unknown> | undefined;
  sent = 0;
  constructor(readonly client: QueueClient) {}

  /** Sends `message` as JSON text. */
  async send(message: object): Promise<void> {
    this.#ready ??= this.client.createIfNotExists().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    await this.#ready;
    await this.client.sendMessage(JSON.stringify(message));
    this.sent++;
  }
}

function requireCredential(credential: TokenCredential | undefined): TokenCredential {
  if (!credential) throw new Error('An identity-based storage connection needs a credential');
  return credential;
}
