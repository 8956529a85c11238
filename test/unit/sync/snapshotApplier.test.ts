/**
 * The apply path's writer on the in-memory store: one CloudEvent per change, the outbox in the same write,
 * recovery by the sweeper with the same ids, a step's live lease respected, a lost race re-planned.
 */
import { createLogger, silentSink } from '../../../shared/platform/logging';
import { SyncDeferredError } from '../../../shared/sync/errors';
import type { CloudEventCallbacks } from '../../../shared/sync/outboxPublisher';
import { SnapshotApplier } from '../../../shared/sync/snapshotApplier';
import { InMemoryTrackingRecords } from '../../../shared/tracking/inMemoryTrackingRecords';
import type { CloudEventEnvelope, NewTrackingRecord } from '../../../shared/tracking/trackingRecord';
import { Sweeper } from '../../../shared/workflow/sweeper';

class RecordingQueue {
  readonly sent: CloudEventEnvelope[] = [];
  refuse = false;
  async send(message: object): Promise<void> {
    if (this.refuse) throw new Error('queue unavailable');
    this.sent.push(message as CloudEventEnvelope);
  }
}

const logger = createLogger({ sink: silentSink });
let clockMs = 1_900_000_000_000;
const nowMs = () => clockMs;

function world(callbacks?: CloudEventCallbacks) {
  const records = new InMemoryTrackingRecords({ nowMs });
  const queue = new RecordingQueue();
  const applier = new SnapshotApplier({
    records,
    queue,
    callbacks,
    logger,
    nowMs,
    statusUrlFor: (id) => `https://bridge.example/api/referrals/${id}`,
  });
  return { records, queue, applier };
}

const linked = (fields: Partial<NewTrackingRecord> = {}): NewTrackingRecord => ({
  trackingId: 'r0000000000000000000000000000abc',
  state: 'Linked',
  dealType: 'CoSell',
  source: 'http',
  keySource: 'header',
  requestHash: 'h',
  attempts: 2,
  partnerReferralId: 'p-1',
  engagementId: 'g-1',
  microsoftReferralId: 'm-1',
  ...fields,
});

const ours = {
  id: 'p-1',
  engagementId: 'g-1',
  status: 'New',
  substatus: 'Pending',
  updatedDateTime: '2030-01-01T00:00:00Z',
};
const microsoft = (status: string, substatus: string, updatedDateTime: string) => ({
  id: 'm-1',
  engagementId: 'g-1',
  organizationId: 'msft',
  status,
  substatus,
  createdDateTime: '2030-01-01T00:00:00Z',
  updatedDateTime,
});

beforeEach(() => (clockMs = 1_900_000_000_000));

describe('SnapshotApplier', () => {
  it("publishes Microsoft's acceptance once, however often it is found", async () => {
    const { records, queue, applier } = world();
    await records.create(linked());
    await applier.apply('r0000000000000000000000000000abc', {
      partner: ours,
      microsoft: microsoft('New', 'Pending', '2030-01-01T00:00:00Z'),
      source: 'event',
    });
    expect(queue.sent).toEqual([]);
    const accepted = microsoft('Active', 'Accepted', '2030-01-02T00:00:00Z');
    const first = await applier.apply('r0000000000000000000000000000abc', { microsoft: accepted, source: 'event' });
    const again = await applier.apply('r0000000000000000000000000000abc', { microsoft: accepted, source: 'reconcile' });
    expect(first.kind).toBe('applied');
    expect(again.kind).toBe('unchanged');
    expect(queue.sent.map((e) => e.type)).toEqual(['referral.microsoft.accepted']);
    expect(queue.sent[0]).toMatchObject({
      specversion: '1.0',
      subject: 'r0000000000000000000000000000abc',
      datacontenttype: 'application/json',
      data: { trackingId: 'r0000000000000000000000000000abc', microsoft: { decision: 'Accepted' } },
    });
    const stored = await records.read('r0000000000000000000000000000abc');
    expect(stored?.outbox).toBeUndefined();
    expect(stored?.outboxPending).toBeUndefined();
    expect(stored?.history?.[0]).toMatchObject({ kind: 'microsoft', from: 'Pending', to: 'Accepted', source: 'event' });
  });

  it('keeps the CloudEvent in the outbox when the queue refuses it, and the sweeper republishes it with the same id', async () => {
    const { records, queue, applier } = world();
    await records.create(linked({ partnerCenter: { ...ours } }));
    queue.refuse = true;
    const outcome = await applier.apply('r0000000000000000000000000000abc', {
      partner: { ...ours, status: 'Active', substatus: 'Accepted', updatedDateTime: '2030-01-01T00:00:01Z' },
      source: 'event',
    });
    if (outcome.kind !== 'applied') throw new Error('expected applied');
    const id = outcome.published[0].id;
    expect((await records.read('r0000000000000000000000000000abc'))?.outbox?.map((e) => e.event.id)).toEqual([id]);

    queue.refuse = false;
    clockMs += 300_000;
    const sweeper = new Sweeper({
      records,
      queues: { 'referral-submit': queue, 'referral-link': queue },
      callbacks: { deliver: async () => undefined },
      staleAfterMs: 120_000,
      logger,
      nowMs,
      outbox: applier,
    });
    expect((await sweeper.sweep()).outboxesFlushed).toBe(1);
    expect(queue.sent.map((e) => [e.type, e.id])).toEqual([['referral.status.changed', id]]);
    expect((await records.read('r0000000000000000000000000000abc'))?.outboxPending).toBeUndefined();
    expect((await sweeper.sweep()).outboxesFlushed).toBe(0);
  });

  it('does not write a record under another worker’s live step lease (the step would lose its write)', async () => {
    const { records, queue, applier } = world();
    await records.create(
      linked({ state: 'CreatingMicrosoft', leaseOwner: 'step-worker', leaseUntilEpochMs: clockMs + 60_000 }),
    );
    await expect(
      applier.apply('r0000000000000000000000000000abc', { partner: ours, source: 'event' }),
    ).rejects.toBeInstanceOf(SyncDeferredError);
    await expect(
      applier.apply('r0000000000000000000000000000abc', { partner: ours, source: 'us' }, { leaseOwner: 'step-worker' }),
    ).resolves.toMatchObject({ kind: 'applied' });
    expect(queue.sent).toEqual([]);
  });

  it('re-plans after losing a race to another write, and publishes once', async () => {
    const { records, queue, applier } = world();
    await records.create(linked({ partnerCenter: { ...ours } }));
    const moved = { ...ours, status: 'Active', substatus: 'Accepted', updatedDateTime: '2030-01-01T00:00:01Z' };
    const other = world();
    records.injectFault({
      kind: 'interleave',
      operation: 'replace',
      run: async () => {
        // Another consumer applies the same change between our read and our write.
        const current = (await records.read('r0000000000000000000000000000abc'))!;
        await new SnapshotApplier({
          records,
          queue: other.queue,
          logger,
          nowMs,
          statusUrlFor: (id) => id,
        }).applyTo(current, { partner: moved, source: 'event' });
      },
    });
    const outcome = await applier.apply('r0000000000000000000000000000abc', { partner: moved, source: 'event' });
    expect(outcome.kind).toBe('unchanged');
    expect([...queue.sent, ...other.queue.sent].map((e) => e.type)).toEqual(['referral.status.changed']);
  });

  it('posts the CloudEvent to the callback URL as application/cloudevents+json, and gives up after three failed rounds', async () => {
    const posted: Array<{ url: string; type: string; contentType: string }> = [];
    const callbacks: CloudEventCallbacks = {
      notify: async (url, body, options) => {
        posted.push({ url, type: body.type, contentType: options.contentType });
        return { state: 'failed', code: 'http_status', reason: 'HTTP 500', attempts: 3 };
      },
    };
    const { records, applier } = world(callbacks);
    await records.create(linked({ partnerCenter: { ...ours }, callbackUrl: 'https://crm.example/hook' }));
    await applier.apply('r0000000000000000000000000000abc', {
      partner: { ...ours, status: 'Closed', substatus: 'Won', updatedDateTime: '2030-01-01T00:00:01Z' },
      source: 'event',
    });
    expect(posted[0]).toEqual({
      url: 'https://crm.example/hook',
      type: 'referral.status.changed',
      contentType: 'application/cloudevents+json; charset=utf-8',
    });
    let stored = (await records.read('r0000000000000000000000000000abc'))!;
    expect(stored.outbox?.[0]).toMatchObject({ queue: false, callback: true, callbackFailures: 1 });
    stored = await applier.flush(stored);
    stored = await applier.flush(stored);
    expect(stored.outbox).toBeUndefined();
    expect(stored.history?.[0]).toMatchObject({ kind: 'callback-failed', note: 'referral.status.changed http_status' });
    expect(posted).toHaveLength(3);
  });
});
