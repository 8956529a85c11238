/**
 * startAzurite: free loopback ports, in memory or in a folder it cleans up, and a connection string
 * the storage SDK accepts.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import { startAzurite } from '../../../sandbox/azurite';

jest.setTimeout(30_000);

describe('startAzurite', () => {
  it('runs in a temp folder it removes on stop, on free loopback ports, with explicit endpoints', async () => {
    const azurite = await startAzurite();
    try {
      expect(azurite.location).toBeDefined();
      for (const url of [azurite.queueUrl, azurite.tableUrl, azurite.blobUrl])
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
      expect(azurite.connectionString).toContain(`QueueEndpoint=${azurite.queueUrl};`);
      expect(azurite.connectionString).toContain(`TableEndpoint=${azurite.tableUrl};`);
      expect(azurite.connectionString).toContain(`BlobEndpoint=${azurite.blobUrl};`);
      const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('probe');
      await queue.createIfNotExists();
      await queue.sendMessage('hello');
      expect((await queue.receiveMessages()).receivedMessageItems[0]?.messageText).toBe('hello');
      const table = TableClient.fromConnectionString(azurite.connectionString, 'probe', {
        allowInsecureConnection: true,
      });
      await table.createTable();
      await table.createEntity({ partitionKey: 'p', rowKey: 'r', value: 1 });
      expect((await table.getEntity<{ value: number }>('p', 'r')).value).toBe(1);
      expect((await readdir(azurite.location!)).length).toBeGreaterThan(0);
    } finally {
      await azurite.stop();
    }
    expect(existsSync(azurite.location!)).toBe(false);
  });

  it('runs in memory without a folder, and two instances run side by side', async () => {
    const [a, b] = await Promise.all([startAzurite({ inMemory: true }), startAzurite({ inMemory: true })]);
    try {
      expect(a.location).toBeUndefined();
      expect(a.queueUrl).not.toBe(b.queueUrl);
      const queueA = QueueServiceClient.fromConnectionString(a.connectionString).getQueueClient('only-in-a');
      await queueA.create();
      expect(
        await QueueServiceClient.fromConnectionString(b.connectionString).getQueueClient('only-in-a').exists(),
      ).toBe(false);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
