/**
 * The storage-queue trigger of one function, after the WebJobs `QueueListener`/`QueueProcessor`:
 *
 * ```
 *  poll ── receive up to batchSize, hidden for the lease (10 min) ──► run each message concurrently
 *   ▲      (only while in-flight <= newBatchThreshold)                   │ lease renewed every lease/2
 *   │ 100 ms after a hit; idle: randomised back-off 200 ms → maxPollingInterval
 *   │                                                                    ▼
 *   │            success ─► send queue outputs ─► delete message
 *   │            failure ─► dequeueCount >= maxDequeueCount ? copy text to <queue>-poison, delete
 *   │                                                       : make visible again after visibilityTimeout
 *   └── dequeueCount > maxDequeueCount on receipt, or not valid base64 ─► straight to poison
 * ```
 *
 * A killed host leaves its messages hidden until the lease runs out; they then come back with a
 * higher dequeueCount (at-least-once, as in Azure).
 */
import type { QueueClient } from '@azure/storage-queue';
import type { RpcInvocationResponse } from './coreTypes';
import { MIN_POLLING_INTERVAL_MS } from './constants';
import type { FunctionPlan } from './functionBindings';
import type { QueueSettings } from './hostConfig';
import type { HostLog } from './hostLog';
import type { InvocationInput } from './invokeFunction';
import { decodeMessageText, queueTriggerMetadata, toTriggerData, type ReceivedMessage } from './queueMessages';
import type { QueueOutputSender } from './queueOutputSender';
import type { StorageConnections } from './storageConnection';

/** Suffix of the poison queue. */
export const POISON_QUEUE_SUFFIX = '-poison';

/** Dependencies of {@link QueueListener}. */
export interface QueueListenerOptions {
  plan: FunctionPlan;
  settings: QueueSettings;
  connections: StorageConnections;
  outputs: QueueOutputSender;
  invoke: (input: InvocationInput) => Promise<RpcInvocationResponse>;
  log: HostLog;
  /** Visibility timeout of a received message while it runs (renewed at half-interval). */
  leaseMs: number;
  /** @default Math.random */
  random?: () => number;
}

/** Polls one queue and runs its function for each message. */
export class QueueListener {
  readonly queueName: string;
  readonly #options: QueueListenerOptions;
  readonly #client: QueueClient;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #leaseSeconds: number;
  readonly #random: () => number;
  #poisonClient: Promise<QueueClient> | undefined;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #consecutiveErrors = 0;
  #needsCreate = false;

  constructor(options: QueueListenerOptions) {
    const queue = options.plan.queue;
    if (!queue) throw new TypeError(`Function ${options.plan.name} has no queue trigger`);
    this.#options = options;
    this.queueName = queue.queueName;
    this.#client = options.connections.queueService(queue.connection).getQueueClient(queue.queueName);
    this.#leaseSeconds = Math.max(1, Math.ceil(options.leaseMs / 1000));
    this.#random = options.random ?? Math.random;
  }

  /** Messages being processed now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Creates the queue if missing and starts polling. When storage is unreachable it logs, keeps
   * polling with back-off and creates the queue once storage answers (like the host's listener).
   */
  async start(): Promise<void> {
    try {
      await this.#client.createIfNotExists();
    } catch (error) {
      this.#needsCreate = true;
      this.#options.log.host('warning', `Cannot create queue '${this.queueName}' yet: ${describe(error)}`);
    }
    this.#loop = this.#run();
  }

  /** Stops polling, then waits up to `drainMs` for in-flight messages; the rest stay leased (like a crash). */
  async stop(drainMs: number): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, drainMs);
      }),
    ]);
    clearTimeout(timer);
  }

  async #run(): Promise<void> {
    const { settings, log } = this.#options;
    let idleIntervalMs = MIN_POLLING_INTERVAL_MS;
    while (!this.#stopped) {
      if (this.#inFlight.size > settings.newBatchThreshold) {
        await Promise.race([...this.#inFlight, this.#sleep(settings.maxPollingIntervalMs)]);
        continue;
      }
      let messages: ReceivedMessage[];
      try {
        if (this.#needsCreate) {
          await this.#client.createIfNotExists();
          this.#needsCreate = false;
        }
        const response = await this.#client.receiveMessages({
          numberOfMessages: settings.batchSize,
          visibilityTimeout: this.#leaseSeconds,
        });
        messages = response.receivedMessageItems;
        this.#consecutiveErrors = 0;
      } catch (error) {
        if (this.#stopped) break;
        if ((error as { statusCode?: number }).statusCode === 404) this.#needsCreate = true;
        this.#consecutiveErrors++;
        if (this.#consecutiveErrors === 1 || this.#consecutiveErrors % 20 === 0) {
          log.host(
            'warning',
            `Polling queue '${this.queueName}' failed (${this.#consecutiveErrors}x): ${describe(error)}`,
          );
        }
        idleIntervalMs = this.#nextIdleInterval(idleIntervalMs);
        await this.#sleep(this.#jitter(idleIntervalMs));
        continue;
      }
      if (this.#stopped) {
        // Received while stopping: give them straight back instead of hiding them for a whole lease.
        await Promise.allSettled(
          messages.map((m) => this.#client.updateMessage(m.messageId, m.popReceipt, undefined, 0)),
        );
        break;
      }
      for (const message of messages) this.#track(this.#process(message));
      if (messages.length > 0) {
        idleIntervalMs = MIN_POLLING_INTERVAL_MS;
        await this.#sleep(MIN_POLLING_INTERVAL_MS);
      } else {
        idleIntervalMs = this.#nextIdleInterval(idleIntervalMs);
        await this.#sleep(this.#jitter(idleIntervalMs));
      }
    }
  }

  #nextIdleInterval(currentMs: number): number {
    return Math.min(this.#options.settings.maxPollingIntervalMs, Math.max(2 * MIN_POLLING_INTERVAL_MS, currentMs * 2));
  }

  /** Randomised (±20 %) but never above maxPollingInterval. */
  #jitter(intervalMs: number): number {
    return Math.min(this.#options.settings.maxPollingIntervalMs, Math.round(intervalMs * (0.8 + 0.4 * this.#random())));
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #process(message: ReceivedMessage): Promise<void> {
    const { plan, settings, log } = this.#options;
    const fn = plan.name;
    try {
      if (message.dequeueCount > settings.maxDequeueCount) {
        await this.#poison(
          message,
          message.popReceipt,
          `Message has reached MaxDequeueCount of ${settings.maxDequeueCount}.`,
        );
        return;
      }
      const decoded = decodeMessageText(message.messageText, settings.messageEncoding);
      if (!decoded.ok) {
        await this.#poison(
          message,
          message.popReceipt,
          `Message '${message.messageId}' cannot be decoded: ${decoded.reason}.`,
        );
        return;
      }

      let popReceipt = message.popReceipt;
      let renewal: Promise<void> = Promise.resolve();
      const renewEveryMs = Math.max(500, (this.#leaseSeconds * 1000) / 2);
      const renewTimer = setInterval(() => {
        renewal = renewal.then(async () => {
          try {
            const updated = await this.#client.updateMessage(
              message.messageId,
              popReceipt,
              undefined,
              this.#leaseSeconds,
            );
            if (updated.popReceipt) popReceipt = updated.popReceipt;
          } catch (error) {
            log.fn(fn, 'warning', `Could not renew the lease of message '${message.messageId}': ${describe(error)}`);
          }
        });
      }, renewEveryMs);

      let succeeded = false;
      let stage: 'invoke' | 'outputs' = 'invoke';
      try {
        const response = await this.#options.invoke({
          inputData: [{ name: plan.triggerName, data: toTriggerData(decoded.text) }],
          triggerMetadata: queueTriggerMetadata(message, decoded.text, fn),
          reason: `New queue message detected on '${this.queueName}'.`,
        });
        stage = 'outputs';
        await this.#options.outputs.send(plan, response);
        succeeded = true;
      } catch (error) {
        // invokeFunction logs a failed invocation itself; a failed output binding fails the invocation too.
        if (stage === 'outputs') log.fn(fn, 'error', `Sending the queue outputs failed: ${describe(error)}`);
      } finally {
        clearInterval(renewTimer);
        await renewal;
      }

      if (succeeded) {
        await ignoreGone(this.#client.deleteMessage(message.messageId, popReceipt));
      } else if (message.dequeueCount >= settings.maxDequeueCount) {
        await this.#poison(message, popReceipt, `Message has reached MaxDequeueCount of ${settings.maxDequeueCount}.`);
      } else {
        const retryDelaySeconds = Math.ceil(settings.visibilityTimeoutMs / 1000);
        await ignoreGone(this.#client.updateMessage(message.messageId, popReceipt, undefined, retryDelaySeconds));
      }
    } catch (error) {
      log.fn(
        fn,
        'error',
        `Queue message '${message.messageId}' on '${this.queueName}' could not be completed: ${describe(error)}`,
      );
    }
  }

  /** Copies the message text to `<queue>-poison` (created on first use), then deletes the original. */
  async #poison(message: ReceivedMessage, popReceipt: string, why: string): Promise<void> {
    const poisonName = `${this.queueName}${POISON_QUEUE_SUFFIX}`;
    this.#options.log.fn(this.#options.plan.name, 'warning', `${why} Moving message to queue '${poisonName}'.`);
    if (!this.#poisonClient) {
      const connection = this.#options.plan.queue?.connection;
      const client = this.#options.connections.queueService(connection).getQueueClient(poisonName);
      this.#poisonClient = client.createIfNotExists().then(() => client);
      this.#poisonClient.catch(() => {
        this.#poisonClient = undefined;
      });
    }
    const poison = await this.#poisonClient;
    await poison.sendMessage(message.messageText);
    await ignoreGone(this.#client.deleteMessage(message.messageId, popReceipt));
  }
}

/** A 404 on delete/update means another consumer took the message over (its lease expired): ignore, as the host does. */
async function ignoreGone(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 400) throw error;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.split('\n')[0]}`;
  return String(error);
}
