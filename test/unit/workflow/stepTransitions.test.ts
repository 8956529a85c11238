/**
 * Every transition of the tracking state machine and every step outcome, run by the real workflow on the
 * in-memory store (fake clock) against the Partner Center simulator: fast, and nothing mocked but the
 * faults a test asks for.
 */
import { TrackingRecordNotFoundError } from '../../../shared/workflow/errors';
import { LinkMode } from '../../../shared/workflow/ports';
import { example, uniqueDeal } from '../../helpers/examples';
import { World, gate, usePartnerCenter } from './helpers/workflowHarness';

const simulator = usePartnerCenter();
let world: World;
beforeEach(() => {
  world = new World(simulator.current);
});

const partnerLed = (tag: string) => uniqueDeal(example('partner-led-deal.json'), tag);
const coSell = (tag: string) => uniqueDeal(example('cosell-deal.json'), tag);

async function submitted(body: Record<string, unknown>, options: Parameters<World['workflow']>[0] = {}) {
  const outcome = await world.workflow(options).submit({ body, source: 'http' });
  if (outcome.kind !== 'tracked' && outcome.kind !== 'rejected') throw new Error(`unexpected ${outcome.kind}`);
  return outcome;
}

describe('the partner step (insert = claim)', () => {
  it('CreatingPartner → Completed: the request is purged and the lease released, in three writes (insert, referral index, record) and no read', async () => {
    const before = world.records.stats();
    const { record, kind } = await submitted(partnerLed('p-done'));
    expect(kind).toBe('tracked');
    expect(record).toMatchObject({ state: 'Completed', attempts: 1 });
    expect(record.request).toBeUndefined();
    expect(record.leaseOwner).toBeUndefined();
    expect(world.referralsIn(record)).toHaveLength(1);
    const after = world.records.stats();
    expect({ reads: after.reads - before.reads, writes: after.writes - before.writes }).toEqual({
      reads: 0,
      writes: 3,
    });
    expect(await world.stored(record.trackingId)).toEqual(record);
  });

  it('CreatingPartner → CreatingMicrosoft → Linked inline for co-sell, with both ids, and no queue message', async () => {
    const { record } = await submitted(coSell('p-inline'));
    expect(record).toMatchObject({ state: 'Linked', attempts: 2 });
    expect(record.microsoftReferralId).toBe(world.microsoftIn(record)[0].id);
    expect(world.linkQueue.messages).toEqual([]);
  });

  it('CreatingPartner → LinkQueued with LINK_MODE=queue, the record kept for the link step and its message sent', async () => {
    const { record } = await submitted(coSell('p-queue'), { linkMode: LinkMode.Queue });
    expect(record.state).toBe('LinkQueued');
    expect(record.request?.coSell).toBeDefined();
    expect(record.leaseOwner).toBeUndefined();
    expect(world.linkQueue.ids()).toEqual([record.trackingId]);
  });

  it('retry (HTTP): a transient failure releases the lease, records the error and hands the step to referral-submit, with no re-read', async () => {
    world.partnerCenter.next('partner', 'unavailable');
    const before = world.records.stats();
    const { record } = await submitted(partnerLed('p-retry'));
    expect(record).toMatchObject({ state: 'CreatingPartner', lastError: { step: 'partner', status: 503 } });
    expect(record.leaseOwner).toBeUndefined();
    expect(world.submitQueue.ids()).toEqual([record.trackingId]);
    expect(world.records.stats().reads - before.reads).toBe(0);
    expect(await world.stored(record.trackingId)).toEqual(record);
  });

  it('retry (intake queue): the failure is thrown for the queue to retry, after the record says why', async () => {
    world.partnerCenter.next('partner', 'unavailable');
    const body = partnerLed('p-retry-queue');
    await expect(world.workflow().submit({ body, source: 'queue' })).rejects.toMatchObject({ retryable: true });
    const [record] = world.records.all();
    expect(record).toMatchObject({ state: 'CreatingPartner', lastError: { code: 'serviceUnavailable' } });
    expect(world.submitQueue.messages).toEqual([]);
  });

  it('Received → CreatingPartner → Completed when referral-submit runs a deferred step', async () => {
    world.partnerCenter.next('partner', 'unavailable');
    const { record } = await submitted(partnerLed('p-deferred'));
    const step = await world.workflow({ instanceId: 'b' }).advancePartner(record.trackingId);
    expect(step).toEqual({ record: expect.objectContaining({ state: 'Completed', attempts: 2 }) });
    expect(world.referralsIn(step.record)).toHaveLength(1);
  });

  it('parked: a refused refresh token moves CreatingPartner → AwaitingReauthorization, resuming to Received', async () => {
    world.partnerCenter.next('partner', 'reauthorization');
    const { record, kind } = await submitted(partnerLed('p-parked'));
    expect(kind).toBe('tracked');
    expect(record).toMatchObject({
      state: 'AwaitingReauthorization',
      parkedFrom: 'Received',
      lastError: { code: 'reauthorizationRequired' },
    });
    expect(world.submitQueue.messages).toEqual([]);
  });

  it('rejected: a Partner Center 4xx ends the record as Rejected and the outcome says so (replays too)', async () => {
    world.partnerCenter.next('partner', 'rejected');
    const body = partnerLed('p-rejected');
    const first = await submitted(body);
    expect(first).toMatchObject({ kind: 'rejected', replayed: false, record: { state: 'Rejected' } });
    expect(first.record.lastError).toMatchObject({ step: 'partner', status: 400, code: 'invalidRequest' });
    expect(first.record.request).toBeUndefined();
    expect(await submitted(body)).toMatchObject({ kind: 'rejected', replayed: true });
  });

  it('replays the same request and refuses the same key with another payload', async () => {
    const body = partnerLed('p-replay');
    const wf = world.workflow();
    await wf.submit({ body, source: 'http', idempotencyKey: 'k-1' });
    expect(await wf.submit({ body, source: 'http', idempotencyKey: 'k-1' })).toMatchObject({
      kind: 'tracked',
      replayed: true,
    });
    const other = await wf.submit({ body: { ...body, name: 'Other deal' }, source: 'http', idempotencyKey: 'k-1' });
    expect(other).toMatchObject({ kind: 'keyReused', problem: { status: 422 } });
  });
});

describe('the Microsoft step', () => {
  it('retry, handed to referral-link: the answer was lost, and the queued step adopts the referral it made', async () => {
    world.partnerCenter.next('microsoft', 'lostAnswer');
    const { record } = await submitted(coSell('m-lost'));
    expect(record).toMatchObject({ state: 'CreatingMicrosoft', lastError: { step: 'microsoft', code: 'network' } });
    expect(record.leaseOwner).toBeUndefined();
    expect(world.linkQueue.ids()).toEqual([record.trackingId]);
    const linked = await world.workflow({ instanceId: 'b' }).advanceLink(record.trackingId);
    expect(linked.record.state).toBe('Linked');
    expect(world.microsoftIn(record)).toHaveLength(1);
    expect(linked.record.microsoftReferralId).toBe(world.microsoftIn(record)[0].id);
    expect(world.partnerCenter.calls).toEqual(['partner', 'microsoft', 'microsoft-lookup']);
  });

  it('LinkQueued → CreatingMicrosoft → Linked from referral-link: one read, two writes', async () => {
    const { record } = await submitted(coSell('m-queue'), { linkMode: LinkMode.Queue });
    const before = world.records.stats();
    const linked = await world.workflow({ linkMode: LinkMode.Queue }).advanceLink(record.trackingId);
    expect(linked.record).toMatchObject({ state: 'Linked' });
    expect(linked.record.request).toBeUndefined();
    const after = world.records.stats();
    expect({ reads: after.reads - before.reads, writes: after.writes - before.writes }).toEqual({
      reads: 1,
      writes: 2,
    });
  });

  it('retry from referral-link: thrown for the queue, the record left in CreatingMicrosoft with no lease', async () => {
    const { record } = await submitted(coSell('m-retry'), { linkMode: LinkMode.Queue });
    world.partnerCenter.next('microsoft', 'unavailable');
    await expect(world.workflow().advanceLink(record.trackingId)).rejects.toMatchObject({ retryable: true });
    const stored = await world.stored(record.trackingId);
    expect(stored).toMatchObject({ state: 'CreatingMicrosoft', lastError: { step: 'microsoft' } });
    expect(stored.leaseOwner).toBeUndefined();
  });

  it('parked: CreatingMicrosoft → AwaitingReauthorization resuming to LinkQueued, then Linked after the sweeper resumes it', async () => {
    world.partnerCenter.next('microsoft', 'reauthorization');
    const wf = world.workflow();
    const { record } = await submitted(coSell('m-parked'));
    expect(record).toMatchObject({ state: 'AwaitingReauthorization', parkedFrom: 'LinkQueued' });
    expect(world.linkQueue.messages).toEqual([]);
    const report = await world.sweeper(wf).sweep();
    expect(report).toMatchObject({ resumed: 1, parkedRemaining: 0 });
    expect(await world.stored(record.trackingId)).toMatchObject({ state: 'LinkQueued' });
    expect(world.linkQueue.ids()).toEqual([record.trackingId]);
    expect((await wf.advanceLink(record.trackingId)).record.state).toBe('Linked');
    expect(world.microsoftIn(record)).toHaveLength(1);
  });

  it('rejected: CreatingMicrosoft → Rejected keeps the partner referral ids', async () => {
    world.partnerCenter.next('microsoft', 'rejected');
    const outcome = await submitted(coSell('m-rejected'));
    expect(outcome.kind).toBe('rejected');
    expect(outcome.record).toMatchObject({ state: 'Rejected', lastError: { step: 'microsoft', status: 400 } });
    expect(outcome.record.partnerReferralId).toBeDefined();
    expect(outcome.record.engagementId).toBeDefined();
  });
});

describe('messages for records that do not wait for the step', () => {
  it('a referral-submit message for a LinkQueued record sends its link message again', async () => {
    const { record } = await submitted(coSell('x-linkqueued'), { linkMode: LinkMode.Queue });
    const step = await world.workflow().advancePartner(record.trackingId);
    expect(step).toEqual({ record: expect.objectContaining({ state: 'LinkQueued' }) });
    expect(world.linkQueue.ids()).toEqual([record.trackingId, record.trackingId]);
  });

  it('a referral-link message for a final record changes nothing', async () => {
    const { record } = await submitted(partnerLed('x-final'));
    const before = world.records.stats();
    expect(await world.workflow().advanceLink(record.trackingId)).toEqual({ record });
    expect(world.records.stats().writes).toBe(before.writes);
  });

  it('a message for an unknown record is a permanent failure', async () => {
    await expect(world.workflow().advanceLink('r0000000000000000000000000000000')).rejects.toBeInstanceOf(
      TrackingRecordNotFoundError,
    );
  });
});

describe('leases and concurrent workers', () => {
  it('leaves a record to the worker whose live lease holds it (Partner Center not called twice)', async () => {
    const held = gate();
    world.partnerCenter.next('partner', held.fault);
    const submitting = world.workflow({ instanceId: 'a' }).submit({ body: partnerLed('l-live'), source: 'http' });
    await held.entered;
    const [inserted] = world.records.all();
    const second = await world.workflow({ instanceId: 'b' }).advancePartner(inserted.trackingId);
    expect(second.deferred).toBe(true);
    held.open();
    expect(await submitting).toMatchObject({ kind: 'tracked', record: { state: 'Completed' } });
    expect(world.partnerCenter.calls).toEqual(['partner']);
  });

  it('a lease that expires mid-step: another worker takes over, and the first steps aside when its write meets 412', async () => {
    const held = gate();
    world.partnerCenter.next('partner', held.fault);
    const body = partnerLed('l-expired');
    const first = world.workflow({ instanceId: 'a' }).submit({ body, source: 'http' });
    await held.entered;
    const [inserted] = world.records.all();
    world.clockMs += 61_000; // past a's 60 s lease
    const second = await world.workflow({ instanceId: 'b' }).advancePartner(inserted.trackingId);
    expect(second.record).toMatchObject({ state: 'Completed', attempts: 2 });
    held.open();
    const outcome = await first;
    // a's done write lost (412): it reports the record as b wrote it, and wrote nothing itself.
    expect(outcome).toMatchObject({ kind: 'tracked', record: { state: 'Completed', attempts: 2 } });
    expect(await world.stored(inserted.trackingId)).toEqual(second.record);
    expect(world.partnerCenter.calls).toEqual(['partner', 'partner']);
    // Both created with the same MS-RequestId: one partner referral.
    expect(world.simulator.referrals().filter((r) => r.name === body.name)).toHaveLength(1);
  });

  it('two workers on the same link message: one claims, the other leaves it (one Microsoft referral)', async () => {
    const { record } = await submitted(coSell('l-two'), { linkMode: LinkMode.Queue });
    const held = gate();
    world.partnerCenter.next('microsoft', held.fault);
    const a = world.workflow({ instanceId: 'a' }).advanceLink(record.trackingId);
    await held.entered;
    const b = await world.workflow({ instanceId: 'b' }).advanceLink(record.trackingId);
    expect(b).toMatchObject({ deferred: true, record: { state: 'CreatingMicrosoft', leaseOwner: 'a' } });
    held.open();
    expect((await a).record.state).toBe('Linked');
    expect(world.microsoftIn(record)).toHaveLength(1);
  });

  it('a claim that meets 412 re-reads and claims again while the record still waits and no one holds it', async () => {
    const { record } = await submitted(coSell('l-412'), { linkMode: LinkMode.Queue });
    const waiting = await world.stored(record.trackingId);
    world.records.injectFault({
      kind: 'interleave',
      operation: 'replace',
      trackingId: record.trackingId,
      run: async () => void (await world.records.update(waiting, { traceparent: undefined })),
    });
    const linked = await world.workflow().advanceLink(record.trackingId);
    expect(world.records.pendingFaults()).toBe(0);
    expect(linked.record.state).toBe('Linked');
  });

  it('two workers claiming the same record at once: exactly one runs the step', async () => {
    const { record } = await submitted(coSell('l-race'), { linkMode: LinkMode.Queue });
    const results = await Promise.all([
      world.workflow({ instanceId: 'a' }).steps.advance('microsoft', record.trackingId),
      world.workflow({ instanceId: 'b' }).steps.advance('microsoft', record.trackingId),
    ]);
    expect(results.map((r) => r.kind).sort()).toEqual(['done', 'skipped']);
    expect(world.microsoftIn(record)).toHaveLength(1);
  });
});

describe('lost answers from the store (writeId)', () => {
  it('the done write landed but its answer was lost and retried: recognised as ours, no second referral', async () => {
    const body = partnerLed('w-retried');
    world.records.injectFault({ kind: 'lostAnswerRetried', operation: 'replace' });
    const { record } = await submitted(body);
    expect(record.state).toBe('Completed');
    expect(world.records.pendingFaults()).toBe(0);
    expect(await world.stored(record.trackingId)).toEqual(record);
  });

  it('the insert landed but its answer was lost and retried: a new request, not a replay', async () => {
    world.records.injectFault({ kind: 'lostAnswerRetried', operation: 'insert' });
    const outcome = await submitted(partnerLed('w-insert'));
    expect(outcome).toMatchObject({ kind: 'tracked', replayed: false, record: { state: 'Completed' } });
  });

  it('the done write landed but the transport gave up: a retry whose queued step finds the work done', async () => {
    const body = partnerLed('w-gave-up');
    world.records.injectFault({ kind: 'lostAnswer', operation: 'replace' });
    const { record } = await submitted(body);
    expect(record.state).toBe('CreatingPartner');
    expect(world.submitQueue.ids()).toEqual([record.trackingId]);
    expect(await world.stored(record.trackingId)).toMatchObject({ state: 'Completed' });
    const step = await world.workflow({ instanceId: 'b' }).advancePartner(record.trackingId);
    expect(step.record.state).toBe('Completed');
    expect(world.simulator.referrals().filter((r) => r.name === body.name)).toHaveLength(1);
  });
});
