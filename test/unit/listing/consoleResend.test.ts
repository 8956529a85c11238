/**
 * The console's "resend a refused deal after it was fixed": which records can take a corrected body, and the
 * resend through the workflow's fix-and-resend. Everything refused here writes nothing (the record and Partner
 * Center are unchanged). Real workflow, in-memory store, the Partner Center simulator over HTTP.
 */
import fc from 'fast-check';
import { crossSiteProblem } from '../../../shared/listing/consoleRequests';
import { resendEligibility, resendFixedDeal, type ResendOutcome } from '../../../shared/listing/consoleResend';
import type { TrackingRecord } from '../../../shared/tracking/trackingRecord';
import type { ReferralWorkflow } from '../../../shared/workflow/referralWorkflow';
import { example, uniqueDeal } from '../../helpers/examples';
import { World, usePartnerCenter } from '../workflow/helpers/workflowHarness';

const simulator = usePartnerCenter();
let world: World;
let workflow: ReferralWorkflow;
beforeEach(() => {
  world = new World(simulator.current);
  workflow = world.workflow();
});

const partnerLed = (tag: string) => uniqueDeal(example('partner-led-deal.json'), tag);
const corrected = (body: Record<string, any>) => ({ ...body, name: `${String(body.name)} (corrected)` });

/** A deal Partner Center refused on create (nothing made there). */
async function refusedDeal(body: Record<string, any>, idempotencyKey?: string): Promise<TrackingRecord> {
  world.partnerCenter.next('partner', 'rejected');
  const outcome = await workflow.submit({ body, source: 'http', ...(idempotencyKey ? { idempotencyKey } : {}) });
  if (outcome.kind !== 'rejected') throw new Error(`expected rejected, got ${outcome.kind}`);
  return outcome.record;
}

const partnerReferrals = () => world.simulator.referrals().filter((r) => r.organizationId !== 'msft');

function problemOf(outcome: ResendOutcome) {
  if (outcome.kind !== 'refused') throw new Error(`expected a problem, got ${outcome.kind}`);
  return outcome.problem;
}

/** Runs `act` and checks that neither the record nor Partner Center changed. */
async function withoutSideEffect<T>(trackingId: string, act: () => Promise<T>): Promise<T> {
  const before = await world.records.read(trackingId);
  const made = partnerReferrals().length;
  const result = await act();
  expect(await world.records.read(trackingId)).toEqual(before);
  expect(partnerReferrals()).toHaveLength(made);
  return result;
}

describe('which deals the console can resend', () => {
  it('a deal refused before anything was created, keyed by its externalReferenceId: resendable, no key asked', async () => {
    const record = await refusedDeal(partnerLed('cr-eligible'));
    expect(resendEligibility(record)).toEqual({
      trackingId: record.trackingId,
      state: 'Rejected',
      resendable: true,
      keySource: 'externalReferenceId',
      keyRequired: false,
      keepsExternalReferenceId: true,
    });
  });

  it('a deal sent with an Idempotency-Key: resendable, the key must be given again (it is not stored)', async () => {
    const record = await refusedDeal(partnerLed('cr-keyed'), 'cr-keyed-key');
    expect(resendEligibility(record)).toMatchObject({ resendable: true, keySource: 'header', keyRequired: true });
    expect(JSON.stringify(record)).not.toContain('cr-keyed-key');
  });

  it('not refused, content-keyed, an invalid intake message, or refused after the partner referral: not resendable, with the reason', async () => {
    const completed = await workflow.submit({ body: partnerLed('cr-done'), source: 'http' });
    const noKey = partnerLed('cr-hash');
    delete noKey.externalReferenceId;
    const contentKeyed = await refusedDeal(noKey);
    const invalid = { name: 'x', dealType: 'CoSel' };
    const validation = workflow.validate(invalid);
    if (validation.ok) throw new Error('expected invalid');
    const message = await workflow.rejectInvalidMessage(invalid, validation.problem);
    world.partnerCenter.next('microsoft', 'rejected');
    const msRefused = await workflow.submit({ body: uniqueDeal(example('cosell-deal.json'), 'cr-ms'), source: 'http' });
    const records = [completed, msRefused].map((o) => {
      if (o.kind === 'invalid') throw new Error('expected a record');
      return o.record;
    });
    const reasons = [records[0], contentKeyed, message, records[1]].map((r) => resendEligibility(r).blocked?.code);
    expect(reasons).toEqual(['not-refused', 'content-keyed', 'invalid-queue-message', 'created-in-partner-center']);
  });
});

describe('resending a fixed deal from the console', () => {
  it('a corrected body moves the refused record on under its key: created once, the refusal kept in history', async () => {
    const body = partnerLed('cr-ok');
    const record = await refusedDeal(body);
    const outcome = await resendFixedDeal(workflow, { trackingId: record.trackingId, body: corrected(body) });
    expect(outcome).toMatchObject({
      kind: 'resent',
      replayed: false,
      record: { trackingId: record.trackingId, state: 'Completed', generation: 1 },
    });
    const resent = outcome.kind === 'resent' ? outcome.record : undefined;
    expect(resent?.history?.[0]).toMatchObject({ kind: 'refused', from: 'Rejected', to: 'CreatingPartner' });
    expect(partnerReferrals().filter((r) => r.name === corrected(body).name)).toHaveLength(1);
    // Sent again: the record is not refused any more.
    const again = problemOf(await resendFixedDeal(workflow, { trackingId: record.trackingId, body: corrected(body) }));
    expect(again).toMatchObject({
      status: 409,
      reason: 'not-refused',
      type: expect.stringMatching(/#not-resendable$/),
    });
  });

  it('a deal keyed by an Idempotency-Key needs that key: missing is 400, another is 422, the right one resends', async () => {
    const body = partnerLed('cr-key');
    const record = await refusedDeal(body, 'crm-key-1');
    const trackingId = record.trackingId;
    const missing = problemOf(
      await withoutSideEffect(trackingId, () => resendFixedDeal(workflow, { trackingId, body: corrected(body) })),
    );
    expect(missing).toMatchObject({
      status: 400,
      errors: [{ header: 'Idempotency-Key', code: 'idempotency_key_required' }],
    });
    const other = problemOf(
      await withoutSideEffect(trackingId, () =>
        resendFixedDeal(workflow, { trackingId, body: corrected(body), idempotencyKey: 'crm-key-2' }),
      ),
    );
    expect(other).toMatchObject({
      status: 422,
      type: expect.stringMatching(/#resend-key-mismatch$/),
      errors: [{ header: 'Idempotency-Key', code: 'key_mismatch' }],
    });
    const resent = await resendFixedDeal(workflow, { trackingId, body: corrected(body), idempotencyKey: 'crm-key-1' });
    expect(resent).toMatchObject({ kind: 'resent', record: { trackingId, state: 'Completed' } });
  });

  it('a body the contract refuses is 400 with the contract’s pointers, and nothing is written', async () => {
    const body = partnerLed('cr-bad');
    const { trackingId } = await refusedDeal(body);
    const bad = { ...body, dealType: 'CoSel', details: { ...body.details, dealValue: -5 } };
    const problem = problemOf(
      await withoutSideEffect(trackingId, () => resendFixedDeal(workflow, { trackingId, body: bad })),
    );
    expect(problem.status).toBe(400);
    expect(problem.errors?.map((e) => e.pointer)).toEqual(expect.arrayContaining(['/dealType']));
    const contract = workflow.validate(bad);
    expect(contract.ok).toBe(false);
    expect(problem).toEqual(!contract.ok && contract.problem); // the contract's own answer, as POST /api/referrals gives it
  });

  it('any JSON the contract refuses: 400, nothing written (property)', async () => {
    const { trackingId } = await refusedDeal(partnerLed('cr-fuzz'));
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (body) => {
        fc.pre(!workflow.validate(body).ok);
        const outcome = await withoutSideEffect(trackingId, () => resendFixedDeal(workflow, { trackingId, body }));
        expect(problemOf(outcome).status).toBe(400);
      }),
      { numRuns: 150 },
    );
  });

  it('another externalReferenceId (another deal) is 422 at /externalReferenceId; the refused body unchanged is 422; a key where none was used is 400', async () => {
    const body = partnerLed('cr-mismatch');
    const { trackingId } = await refusedDeal(body);
    const elsewhere = problemOf(
      await withoutSideEffect(trackingId, () =>
        resendFixedDeal(workflow, { trackingId, body: { ...corrected(body), externalReferenceId: 'crm-other' } }),
      ),
    );
    expect(elsewhere).toMatchObject({
      status: 422,
      errors: [{ pointer: '/externalReferenceId', code: 'key_mismatch' }],
    });
    const unchanged = problemOf(
      await withoutSideEffect(trackingId, () => resendFixedDeal(workflow, { trackingId, body })),
    );
    expect(unchanged).toMatchObject({ status: 422, type: expect.stringMatching(/#resend-unchanged$/) });
    const keyed = problemOf(
      await withoutSideEffect(trackingId, () =>
        resendFixedDeal(workflow, { trackingId, body: corrected(body), idempotencyKey: 'k' }),
      ),
    );
    expect(keyed).toMatchObject({ status: 400, errors: [{ header: 'Idempotency-Key' }] });
  });

  it('a record that is not refused is 409 and untouched; an unknown one is 404', async () => {
    const body = partnerLed('cr-created');
    const created = await workflow.submit({ body, source: 'http' });
    if (created.kind !== 'tracked') throw new Error(`expected tracked, got ${created.kind}`);
    const trackingId = created.record.trackingId;
    const problem = problemOf(
      await withoutSideEffect(trackingId, () => resendFixedDeal(workflow, { trackingId, body: corrected(body) })),
    );
    expect(problem).toMatchObject({ status: 409, state: 'Completed', reason: 'not-refused' });
    const unknown = await resendFixedDeal(workflow, { trackingId: `r${'0'.repeat(31)}`, body });
    expect(problemOf(unknown).status).toBe(404);
  });

  it('refused again by Partner Center: the record moved on to a second refusal (generation 1, the first refusal in history)', async () => {
    const body = partnerLed('cr-twice');
    const { trackingId } = await refusedDeal(body);
    world.partnerCenter.next('partner', 'rejected');
    const outcome = await resendFixedDeal(workflow, { trackingId, body: corrected(body) });
    expect(outcome).toMatchObject({ kind: 'resent', record: { state: 'Rejected', generation: 1 } });
    expect(outcome.kind === 'resent' && outcome.record.history?.map((h) => h.kind)).toEqual(['refused']);
  });

  it('no problem or answer carries the pasted body’s values', async () => {
    const body = partnerLed('cr-nodata');
    const { trackingId } = await refusedDeal(body);
    const bad = { ...body, dealType: 'CoSel' };
    const answers = [
      await resendFixedDeal(workflow, { trackingId, body: bad }),
      await resendFixedDeal(workflow, { trackingId, body }),
      await resendFixedDeal(workflow, { trackingId, body: { ...body, externalReferenceId: 'x' } }),
    ];
    for (const answer of answers) {
      const text = JSON.stringify(answer);
      for (const value of ['Northwind', 'jamie.example@example.com', '+49 30 555 0123', 'Example Street'])
        expect(text).not.toContain(value);
    }
  });
});

describe('console actions only from the console itself (CSRF)', () => {
  const own = ['http://127.0.0.1:7071'];
  it.each([
    ['a same-origin fetch', { origin: 'http://127.0.0.1:7071', secFetchSite: 'same-origin' }],
    ['a client that is not a browser (no Origin, no Sec-Fetch-Site)', {}],
    ['the public address behind a proxy', { origin: 'https://bridge.example.com', secFetchSite: 'same-origin' }],
  ])('lets through %s', (_name, headers) => {
    expect(crossSiteProblem(headers, [...own, 'https://bridge.example.com/'])).toBeUndefined();
  });

  it.each([
    ['another site', { origin: 'https://evil.example', secFetchSite: 'cross-site' }],
    ['a sibling site', { origin: 'http://127.0.0.1:7071', secFetchSite: 'same-site' }],
    ['an opaque origin', { origin: 'null' }],
    ['another origin without Sec-Fetch-Site', { origin: 'https://evil.example' }],
    ['a navigation typed by hand', { secFetchSite: 'none' }],
  ])('refuses %s with 403', (_name, headers) => {
    expect(crossSiteProblem(headers, own)).toMatchObject({
      status: 403,
      type: expect.stringMatching(/#cross-site-request$/),
    });
  });
});
