/**
 * Fix and resend: a deal refused before anything was created in Partner Center takes a corrected payload
 * under the same key (a new attempt on the same record); every other reuse of a key stays 422 and says which
 * key it was and what to do. Real workflow, in-memory store, the Partner Center simulator over HTTP.
 */
import { stepRequestId } from '../../../shared/workflow/stepTable';
import type { ReferralsApi } from '../../../shared/workflow/ports';
import type { SubmitOutcome } from '../../../shared/workflow/submit';
import { example, uniqueDeal } from '../../helpers/examples';
import { World, usePartnerCenter } from './helpers/workflowHarness';

const simulator = usePartnerCenter();
let world: World;
beforeEach(() => {
  world = new World(simulator.current);
});

const partnerLed = (tag: string) => uniqueDeal(example('partner-led-deal.json'), tag);
const corrected = (body: Record<string, any>) => ({ ...body, name: `${String(body.name)} (corrected)` });

/** The MS-RequestIds of the partner creates, in order. */
function recordingRequestIds(inner: ReferralsApi): { api: ReferralsApi; partnerIds: string[] } {
  const partnerIds: string[] = [];
  return {
    partnerIds,
    api: {
      createReferral: (body, options) => {
        if (options?.logFields?.step === 'partner' && options.requestId) partnerIds.push(options.requestId);
        return inner.createReferral(body, options);
      },
      listReferrals: (query, options) => inner.listReferrals(query, options),
    },
  };
}

function keyReused(outcome: SubmitOutcome) {
  if (outcome.kind !== 'keyReused') throw new Error(`expected keyReused, got ${outcome.kind}`);
  return outcome.problem;
}

function partnerReferralsNamed(name: string) {
  return world.simulator.referrals().filter((r) => r.name === name && r.organizationId !== 'msft');
}

describe('fix and resend', () => {
  it('a deal refused by Partner Center (clientErrors on create) is accepted under the same key once corrected, created once', async () => {
    const body = partnerLed('rs-fault');
    const workflow = world.workflow();
    world.simulator.setFaults({ clientErrors: { probability: 1, statuses: [400], operations: ['create'] } });
    const refused = await workflow.submit({ body, source: 'http' });
    world.simulator.clearFaults();
    expect(refused).toMatchObject({ kind: 'rejected', record: { state: 'Rejected', lastError: { status: 400 } } });
    expect(refused.kind === 'rejected' && refused.record.partnerReferralId).toBeFalsy();

    const fixed = corrected(body);
    const resent = await workflow.submit({ body: fixed, source: 'http' });
    expect(resent).toMatchObject({ kind: 'tracked', replayed: false, record: { state: 'Completed', generation: 1 } });
    const record = resent.kind === 'tracked' ? resent.record : undefined;
    expect(record?.trackingId).toBe(refused.kind === 'rejected' && refused.record.trackingId);
    expect(partnerReferralsNamed(fixed.name)).toHaveLength(1);
    expect(record?.history?.[0]).toMatchObject({
      kind: 'refused',
      source: 'us',
      from: 'Rejected',
      to: 'CreatingPartner',
      note: 'invalidRequest',
    });
    expect(record?.attempts).toBe(2); // kept counting: one refused attempt, one that created

    // The corrected deal sent again is a replay of the new attempt, nothing new created.
    expect(await workflow.submit({ body: fixed, source: 'http' })).toMatchObject({ kind: 'tracked', replayed: true });
    expect(partnerReferralsNamed(fixed.name)).toHaveLength(1);
  });

  it('each attempt sends its own MS-RequestId (generation 0 keeps the old derivation)', async () => {
    const recorder = recordingRequestIds(world.partnerCenter);
    const workflow = world.workflow({ partnerCenter: recorder.api });
    const body = partnerLed('rs-ids');
    world.partnerCenter.next('partner', 'rejected');
    const refused = await workflow.submit({ body, source: 'http', idempotencyKey: 'rs-ids-key' });
    const trackingId = refused.kind === 'rejected' ? refused.record.trackingId : '';
    await workflow.submit({ body: corrected(body), source: 'http', idempotencyKey: 'rs-ids-key' });
    expect(recorder.partnerIds).toEqual([
      stepRequestId(trackingId, 'partner'),
      stepRequestId(trackingId, 'partner', 1),
    ]);
  });

  it('the refused payload sent unchanged is a replay of the refusal (422 as before), not a new attempt', async () => {
    const body = partnerLed('rs-same');
    world.partnerCenter.next('partner', 'rejected');
    await world.workflow().submit({ body, source: 'http' });
    const again = await world.workflow().submit({ body, source: 'http' });
    expect(again).toMatchObject({ kind: 'rejected', replayed: true, record: { state: 'Rejected' } });
    expect(again.kind === 'rejected' && again.record.generation).toBeFalsy();
  });

  it('a second refusal and a second correction: generation 2, both refusals in history', async () => {
    const body = partnerLed('rs-twice');
    const workflow = world.workflow();
    world.partnerCenter.next('partner', 'rejected').next('partner', 'rejected');
    await workflow.submit({ body, source: 'http' });
    await workflow.submit({ body: corrected(body), source: 'http' });
    const third = await workflow.submit({ body: corrected(corrected(body)), source: 'http' });
    expect(third).toMatchObject({ kind: 'tracked', record: { state: 'Completed', generation: 2, attempts: 3 } });
    expect(third.kind === 'tracked' && third.record.history?.map((h) => h.kind)).toEqual(['refused', 'refused']);
  });

  it('10 concurrent resends of one corrected payload: one attempt, one partner referral, the others replay it', async () => {
    const body = partnerLed('rs-10');
    world.partnerCenter.next('partner', 'rejected');
    await world.workflow().submit({ body, source: 'http' });
    const fixed = corrected(body);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        world.workflow({ instanceId: `i${i}` }).submit({ body: fixed, source: 'http' }),
      ),
    );
    expect(outcomes.filter((o) => o.kind === 'tracked' && !o.replayed)).toHaveLength(1);
    expect(outcomes.every((o) => o.kind === 'tracked')).toBe(true);
    expect(partnerReferralsNamed(fixed.name)).toHaveLength(1);
  });

  it('concurrent resends of two different corrections: one wins, the other is 422 (the record is in flight)', async () => {
    const body = partnerLed('rs-two');
    world.partnerCenter.next('partner', 'rejected');
    await world.workflow().submit({ body, source: 'http' });
    const [a, b] = await Promise.all([
      world.workflow({ instanceId: 'a' }).submit({ body: { ...body, name: 'Fix A' }, source: 'http' }),
      world.workflow({ instanceId: 'b' }).submit({ body: { ...body, name: 'Fix B' }, source: 'http' }),
    ]);
    expect([a.kind, b.kind].sort()).toEqual(['keyReused', 'tracked']);
    expect(partnerReferralsNamed('Fix A').length + partnerReferralsNamed('Fix B').length).toBe(1);
  });

  it('an intake message refused by Partner Center is resent corrected under its envelope key', async () => {
    const body = partnerLed('rs-intake');
    const workflow = world.workflow();
    world.partnerCenter.next('partner', 'rejected');
    const refused = await workflow.submit({ body, source: 'queue', idempotencyKey: 'crm-msg-1' });
    expect(refused.kind).toBe('rejected');
    const resent = await workflow.submit({ body: corrected(body), source: 'queue', idempotencyKey: 'crm-msg-1' });
    expect(resent).toMatchObject({ kind: 'tracked', record: { state: 'Completed', generation: 1 } });
  });

  it('an intake message that failed validation never blocks its key: the corrected message is a new record', async () => {
    const workflow = world.workflow();
    const invalid = { idempotencyKey: 'crm-msg-2', body: { ...partnerLed('rs-invalid'), customerProfile: undefined } };
    const validation = workflow.validate(invalid.body);
    if (validation.ok) throw new Error('expected invalid');
    const recorded = await workflow.rejectInvalidMessage(invalid, validation.problem);
    expect(recorded).toMatchObject({ state: 'Rejected', keySource: 'queueMessage' });
    const accepted = await workflow.submit({
      body: partnerLed('rs-invalid'),
      source: 'queue',
      idempotencyKey: 'crm-msg-2',
    });
    expect(accepted).toMatchObject({ kind: 'tracked', record: { state: 'Completed' } });
    expect(accepted.kind === 'tracked' && accepted.record.trackingId).not.toBe(recorded.trackingId);
  });
});

describe('the same key with another payload stays 422, and says which key and what to do', () => {
  it('while the deal is in flight: names the Idempotency-Key header and says to wait', async () => {
    const body = partnerLed('rs-flight');
    world.partnerCenter.next('partner', 'unavailable');
    await world.workflow().submit({ body, source: 'http', idempotencyKey: 'k-flight' });
    const problem = keyReused(
      await world.workflow().submit({ body: corrected(body), source: 'http', idempotencyKey: 'k-flight' }),
    );
    expect(problem).toMatchObject({ status: 422, keySource: 'header', state: 'CreatingPartner' });
    expect(problem.detail).toMatch(/Idempotency-Key header/);
    expect(problem.detail).toMatch(/still being created/);
  });

  it('once created: names the externalReferenceId and says to update the referral instead', async () => {
    const body = partnerLed('rs-created');
    await world.workflow().submit({ body, source: 'http' });
    const problem = keyReused(await world.workflow().submit({ body: corrected(body), source: 'http' }));
    expect(problem).toMatchObject({ keySource: 'externalReferenceId', state: 'Completed' });
    expect(problem.detail).toMatch(/externalReferenceId/);
    expect(problem.detail).toMatch(/update the referral/);
  });

  it('the queue envelope key is named as such', async () => {
    const body = partnerLed('rs-envelope');
    await world.workflow().submit({ body, source: 'queue', idempotencyKey: 'env-1' });
    const problem = keyReused(
      await world.workflow().submit({ body: corrected(body), source: 'queue', idempotencyKey: 'env-1' }),
    );
    expect(problem).toMatchObject({ keySource: 'envelope' });
    expect(problem.detail).toMatch(/idempotencyKey of the queue envelope/);
  });

  it('a deal whose Microsoft referral was refused (the partner referral exists) is not resent', async () => {
    const body = uniqueDeal(example('cosell-deal.json'), 'rs-ms-refused');
    world.partnerCenter.next('microsoft', 'rejected');
    const first = await world.workflow().submit({ body, source: 'http' });
    expect(first).toMatchObject({ kind: 'rejected', record: { lastError: { step: 'microsoft' } } });
    const problem = keyReused(await world.workflow().submit({ body: corrected(body), source: 'http' }));
    expect(problem.detail).toMatch(/referral was made in Partner Center/);
    expect(
      world.simulator
        .referrals()
        .filter((r) => String(r.name).includes('rs-ms-refused') && r.organizationId !== 'msft'),
    ).toHaveLength(1);
  });
});
