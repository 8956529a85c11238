/**
 * Azurite for tests: `const azurite = useAzurite()` at describe level starts an in-memory Azurite on
 * free loopback ports in beforeAll and stops it in afterAll; `await azurite.ready` (or read its
 * properties inside tests) to use it. Also small bounded helpers to read queues.
 */
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { startAzurite, type AzuriteOptions, type RunningAzurite } from '../../sandbox/azurite';

/** A test's handle on its Azurite. */
export interface AzuriteHandle {
  /** Resolves once Azurite answers (after beforeAll). */
  readonly ready: Promise<RunningAzurite>;
  readonly running: RunningAzurite;
  readonly connectionString: string;
  /** A client for `queueName` (not created: the host or {@link AzuriteHandle.createQueue} creates it). */
  queue(queueName: string): QueueClient;
  /** A client for `queueName`, created if missing. */
  createQueue(queueName: string): Promise<QueueClient>;
}

/** Registers beforeAll/afterAll hooks running an Azurite (in memory unless options say otherwise). */
export function useAzurite(options: AzuriteOptions = {}): AzuriteHandle {
  let running: RunningAzurite | undefined;
  let service: QueueServiceClient | undefined;
  let resolveReady: (value: RunningAzurite) => void = () => undefined;
  let rejectReady: (reason: unknown) => void = () => undefined;
  const ready = new Promise<RunningAzurite>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);

  beforeAll(async () => {
    try {
      running = await startAzurite({ inMemory: true, quiet: true, ...options });
      service = QueueServiceClient.fromConnectionString(running.connectionString);
      resolveReady(running);
    } catch (error) {
      rejectReady(error);
      throw error;
    }
  }, 60_000);

  afterAll(async () => {
    await running?.stop();
  }, 30_000);

  const current = (): RunningAzurite => {
    if (!running) throw new Error('Azurite is not running: use it inside tests or after `await azurite.ready`');
    return running;
  };
  return {
    ready,
    get running() {
      return current();
    },
    get connectionString() {
      return current().connectionString;
    },
    queue(queueName) {
      current();
      return service!.getQueueClient(queueName);
    },
    async createQueue(queueName) {
      current();
      const client = service!.getQueueClient(queueName);
      await client.createIfNotExists();
      return client;
    },
  };
}

/** Options of {@link collectMessages}. */
export interface CollectOptions<T> {
  /** Stop once this many matching messages were collected. */
  count: number;
  /** Keep only messages whose parsed body passes. @default all */
  filter?: (body: T) => boolean;
  /** @default 15000 */
  timeoutMs?: number;
  /** Parse each message text. @default JSON.parse, falling back to the text */
  parse?: (text: string) => T;
}

/**
 * Receives (and deletes) messages of `queue` until `count` matching ones arrived or the time is up;
 * returns what arrived (the caller asserts on it). Missing queues count as empty.
 */
export async function collectMessages<T = unknown>(queue: QueueClient, options: CollectOptions<T>): Promise<T[]> {
  const parse = options.parse ?? ((text: string) => tryJson(text) as T);
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const found: T[] = [];
  while (found.length < options.count && Date.now() < deadline) {
    let items: Array<{ messageId: string; popReceipt: string; messageText: string }> = [];
    try {
      items = (await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 30 })).receivedMessageItems;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
    const before = found.length;
    for (const item of items) {
      const body = parse(item.messageText);
      if (!options.filter || options.filter(body)) {
        found.push(body);
        await queue.deleteMessage(item.messageId, item.popReceipt);
      } else {
        // not ours: give it back at once
        await queue.updateMessage(item.messageId, item.popReceipt, undefined, 0);
      }
    }
    if (found.length === before) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return found;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
