/**
 * Read-only inspection of a sandbox run from the outside: the tracking records straight from the
 * table (no app call), queue depths (poison queues included), and sending intake messages. Used by the
 * fuzz and chaos runs to check invariants without adding load to the app.
 */
import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import type { RunningSandbox } from '../../sandbox/sandbox';

/** The fields of a tracking record the checks read. */
export interface RecordSummary {
  trackingId: string;
  state: string;
  dealType?: string;
  keySource?: string;
  partnerReferralId?: string;
  microsoftReferralId?: string;
  engagementId?: string;
  lastErrorCode?: string;
  createdAtEpochMs?: number;
  updatedAtEpochMs?: number;
  leaseOwner?: string;
  leaseUntilEpochMs?: number;
  attempts?: number;
}

/** States a record never leaves (shared/tracking/states.ts FINAL_STATES). */
export const FINAL_STATES: ReadonlySet<string> = new Set(['Completed', 'Linked', 'Rejected']);

/** Queues the app uses; each has a `-poison` twin. */
export const APP_QUEUES = ['referral-intake', 'referral-submit', 'referral-link'] as const;

/** Reads every tracking record of the `referrals` table (lease rows and other partitions excluded). */
export async function readAllRecords(
  sandbox: RunningSandbox,
  tableName = 'referrals',
): Promise<Map<string, RecordSummary>> {
  const table = TableClient.fromConnectionString(sandbox.azurite.connectionString, tableName, {
    allowInsecureConnection: true,
  });
  const out = new Map<string, RecordSummary>();
  try {
    for await (const entity of table.listEntities<Record<string, unknown>>({
      queryOptions: {
        filter: "RowKey eq 'record'",
        select: [
          'PartitionKey',
          'state',
          'dealType',
          'keySource',
          'partnerReferralId',
          'microsoftReferralId',
          'engagementId',
          'lastError',
          'createdAtEpochMs',
          'updatedAtEpochMs',
          'leaseOwner',
          'leaseUntilEpochMs',
          'attempts',
        ],
      },
    })) {
      let lastErrorCode: string | undefined;
      if (typeof entity.lastError === 'string') {
        try {
          lastErrorCode = asText((JSON.parse(entity.lastError) as { code?: unknown }).code ?? '');
        } catch {
          lastErrorCode = undefined;
        }
      }
      const trackingId = asText(entity.partitionKey);
      out.set(trackingId, {
        trackingId,
        state: asText(entity.state),
        ...(entity.dealType ? { dealType: asText(entity.dealType) } : {}),
        ...(entity.keySource ? { keySource: asText(entity.keySource) } : {}),
        ...(entity.partnerReferralId ? { partnerReferralId: asText(entity.partnerReferralId) } : {}),
        ...(entity.microsoftReferralId ? { microsoftReferralId: asText(entity.microsoftReferralId) } : {}),
        ...(entity.engagementId ? { engagementId: asText(entity.engagementId) } : {}),
        ...(lastErrorCode ? { lastErrorCode } : {}),
        ...(entity.createdAtEpochMs !== undefined ? { createdAtEpochMs: Number(entity.createdAtEpochMs) } : {}),
        ...(entity.updatedAtEpochMs !== undefined ? { updatedAtEpochMs: Number(entity.updatedAtEpochMs) } : {}),
        ...(entity.leaseOwner ? { leaseOwner: asText(entity.leaseOwner) } : {}),
        ...(entity.leaseUntilEpochMs !== undefined ? { leaseUntilEpochMs: Number(entity.leaseUntilEpochMs) } : {}),
        ...(entity.attempts !== undefined ? { attempts: Number(entity.attempts) } : {}),
      });
    }
  } catch (error) {
    // The table does not exist before the app's first write.
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  return out;
}

/** Approximate message counts of the app's queues and their poison queues (0 for a queue that does not exist). */
export async function queueDepths(sandbox: RunningSandbox): Promise<Record<string, number>> {
  const service = QueueServiceClient.fromConnectionString(sandbox.azurite.connectionString);
  const out: Record<string, number> = {};
  for (const name of APP_QUEUES.flatMap((q) => [q, `${q}-poison`])) {
    const queue = service.getQueueClient(name);
    out[name] = (await queue.exists()) ? ((await queue.getProperties()).approximateMessagesCount ?? 0) : 0;
  }
  return out;
}

/** Messages on the `-poison` queues, in total. */
export function poisonCount(depths: Record<string, number>): number {
  return Object.entries(depths)
    .filter(([name]) => name.endsWith('-poison'))
    .reduce((total, [, n]) => total + n, 0);
}

/** Sends text messages to `referral-intake` (created if needed). */
export class IntakeSender {
  readonly #queue;
  #ready: Promise<unknown> | undefined;

  constructor(sandbox: RunningSandbox, queueName = 'referral-intake') {
    this.#queue = QueueServiceClient.fromConnectionString(sandbox.azurite.connectionString).getQueueClient(queueName);
  }

  /** Sends one message as is; rejects when the storage service refuses it (size, characters). */
  async send(text: string): Promise<void> {
    this.#ready ??= this.#queue.createIfNotExists();
    await this.#ready;
    await this.#queue.sendMessage(text);
  }
}

/** A table property as text (strings as they are, anything else as JSON). */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
