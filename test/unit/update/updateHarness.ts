/**
 * A world for the update use case: the in-memory tracking records and change store, the Partner Center
 * simulator over loopback HTTP with the real client, a recording `referral-update` queue, a fake clock for
 * leases. Deals are created through the real workflow, so each test changes a referral Partner Center holds.
 */
import { randomUUID } from 'node:crypto';
import nodeFetch from 'node-fetch';
import type { RunningPartnerCenter } from '../../../sandbox/partner-center/server';
import { PartnerCenterClient } from '../../../shared/partner-center';
import { createLogger, silentSink } from '../../../shared/platform/logging';
import { InMemoryTrackingRecords } from '../../../shared/tracking/inMemoryTrackingRecords';
import type { TrackingRecord } from '../../../shared/tracking/trackingRecord';
import { InMemoryChangeStore } from '../../../shared/update/memoryChangeStore';
import {
  ReferralUpdates,
  type ChangeInput,
  type ChangeQueue,
  type ReferralUpdatesOptions,
} from '../../../shared/update/referralUpdates';
import { ReferralWorkflow } from '../../../shared/workflow/referralWorkflow';
import { example, uniqueDeal } from '../../helpers/examples';
import { RecordingQueue } from '../workflow/helpers/workflowHarness';

export { usePartnerCenter } from '../workflow/helpers/workflowHarness';

/** A `referral-update` queue that keeps what was sent. */
export class RecordingChangeQueue implements ChangeQueue {
  readonly messages: Array<{ trackingId: string; changeId: string }> = [];
  async send(message: { trackingId: string; changeId: string }): Promise<void> {
    this.messages.push(message);
  }
}

/** One world per test. */
export class UpdateWorld {
  clockMs = 1_900_000_000_000;
  readonly records = new InMemoryTrackingRecords({ nowMs: () => this.clockMs });
  readonly changes = new InMemoryChangeStore({ nowMs: () => this.clockMs });
  readonly queue = new RecordingChangeQueue();
  readonly client: PartnerCenterClient;
  readonly #workflow: ReferralWorkflow;

  constructor(readonly simulator: RunningPartnerCenter) {
    simulator.reset();
    this.client = new PartnerCenterClient({
      baseUrl: simulator.url,
      tokens: { getAccessToken: async () => 'token' },
      maxAttempts: 1,
      timeoutMs: 5000,
    });
    this.#workflow = new ReferralWorkflow({
      store: this.records,
      partnerCenter: this.client,
      submitQueue: new RecordingQueue(),
      linkQueue: new RecordingQueue(),
      logger: createLogger({ sink: silentSink }),
      instanceId: 'creator',
      nowMs: () => this.clockMs,
    });
  }

  /** The update use case of one instance. */
  updates(options: Partial<ReferralUpdatesOptions> = {}): ReferralUpdates {
    return new ReferralUpdates({
      records: this.records,
      changes: this.changes,
      partnerCenter: this.client,
      queue: this.queue,
      lease: { instanceId: 'u1', leaseDurationMs: 60_000, nowMs: () => this.clockMs },
      logger: createLogger({ sink: silentSink }),
      sleep: async () => {
        await new Promise((resolve) => setImmediate(resolve));
      },
      ...options,
    });
  }

  /** Creates a deal from an example (a PartnerLed deal by default) and returns its record. */
  async deal(file = 'partner-led-deal.json', overrides: Record<string, unknown> = {}): Promise<TrackingRecord> {
    const outcome = await this.#workflow.submit({
      body: { ...uniqueDeal(example(file), randomUUID()), ...overrides },
      source: 'http',
    });
    if (outcome.kind !== 'tracked') throw new Error(`deal not created: ${outcome.kind}`);
    return outcome.record;
  }

  /** A change through HTTP (a time budget) by default. */
  change(updates: ReferralUpdates, record: TrackingRecord, body: unknown, input: Partial<ChangeInput> = {}) {
    return updates.change({ trackingId: record.trackingId, body, source: 'http', timeBudgetMs: 10_000, ...input });
  }

  /** The referral as Partner Center holds it. */
  referral(record: TrackingRecord): Record<string, any> {
    const found = this.simulator.referrals().find((r) => r.id === record.partnerReferralId);
    if (!found) throw new Error('no referral');
    return found as Record<string, any>;
  }

  /** A person's edit in the Partner Center UI (JSON Patch operations). */
  async uiEdit(record: TrackingRecord, operations: unknown[]): Promise<void> {
    const response = await nodeFetch(`${this.simulator.url}/_sandbox/referrals/${record.partnerReferralId}/edit`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(operations),
    });
    if (!response.ok) throw new Error(`UI edit refused: ${response.status} ${await response.text()}`);
  }

  /** PATCH calls Partner Center answered, by status. */
  patchCalls(): Record<string, number> {
    return this.simulator.stats().calls.patch ?? {};
  }

  async stored(record: TrackingRecord): Promise<TrackingRecord> {
    const found = await this.records.read(record.trackingId);
    if (!found) throw new Error('no record');
    return found;
  }
}
