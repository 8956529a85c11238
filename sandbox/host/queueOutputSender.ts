/**
 * Storage-queue output bindings: after an invocation SUCCEEDED, each value the function set
 * (`context.extraOutputs.set(binding, value)` or the return value of a `return: output.storageQueue`)
 * is sent to its queue, encoded per host.json `messageEncoding`. A failed invocation sends nothing.
 * Queues are created on first use, as the real binding does.
 */
import type { QueueClient } from '@azure/storage-queue';
import type { RpcInvocationResponse, RpcTypedData } from './coreTypes';
import type { FunctionPlan } from './functionBindings';
import type { MessageEncoding } from './hostConfig';
import { encodeMessageText, toOutputMessages } from './queueMessages';
import type { StorageConnections } from './storageConnection';

/** The binding name of a function's return value. */
export const RETURN_BINDING = '$return';

/** Options of {@link QueueOutputSender}. */
export interface QueueOutputSenderOptions {
  connections: StorageConnections;
  encoding: MessageEncoding;
}

/** Sends the queue outputs of finished invocations. */
export class QueueOutputSender {
  readonly #connections: StorageConnections;
  readonly #encoding: MessageEncoding;
  readonly #ready = new Map<string, Promise<QueueClient>>();

  constructor(options: QueueOutputSenderOptions) {
    this.#connections = options.connections;
    this.#encoding = options.encoding;
  }

  /** Sends every queue output of `response`; returns how many messages went out. */
  async send(plan: FunctionPlan, response: RpcInvocationResponse): Promise<number> {
    if (plan.queueOutputs.length === 0) return 0;
    let sent = 0;
    for (const binding of plan.queueOutputs) {
      const data: RpcTypedData | null | undefined =
        binding.bindingName === RETURN_BINDING
          ? response.returnValue
          : response.outputData?.find((o) => o.name === binding.bindingName)?.data;
      const messages = toOutputMessages(data);
      if (messages.length === 0) continue;
      const client = await this.#queue(binding.connection, binding.queueName);
      for (const message of messages) {
        await client.sendMessage(encodeMessageText(message, this.#encoding));
        sent++;
      }
    }
    return sent;
  }

  /** The queue's client, created (createIfNotExists) once per process. */
  #queue(connection: string | undefined, queueName: string): Promise<QueueClient> {
    const key = `${connection ?? ''}\u0000${queueName}`;
    let ready = this.#ready.get(key);
    if (!ready) {
      const client = this.#connections.queueService(connection).getQueueClient(queueName);
      ready = client.createIfNotExists().then(() => client);
      ready.catch(() => this.#ready.delete(key));
      this.#ready.set(key, ready);
    }
    return ready;
  }
}
