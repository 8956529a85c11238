/**
 * Changing referrals end to end: the local host running the built app, Azurite and the Partner Center
 * simulator. PATCH /api/referrals/{trackingId} and the `referral-update` queue, the "Done when" list of
 * issue 14 §1–§2, and a seeded fuzz of PATCH bodies. Needs `npm run build` (the host runs dist/).
 */
import nodeFetch from 'node-fetch';
import type { RunningSandbox } from '../../../sandbox/sandbox';
import { runPatchFuzz } from '../../../bench/fuzz';
import { IntakeSender } from '../../../bench/lib/inspect';
import { call, eventually, startTestSandbox } from '../../helpers/sandboxHarness';
import { example, uniqueDeal } from '../../helpers/examples';

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox();
}, 120_000);
afterAll(async () => sandbox?.stop());

const referralOf = (view: any): any =>
  (sandbox.partnerCenter.referrals() as any[]).find((r) => r.id === view.partnerReferral.id);
const patchCalls = (): Record<string, number> => ({ ...(sandbox.partnerCenter.stats().calls.patch ?? {}) });
const patch = (view: any, body: unknown, headers: Record<string, string> = {}, query = '') =>
  call(sandbox, 'PATCH', `/referrals/${view.trackingId}${query}`, body, {
    'Content-Type': 'application/merge-patch+json',
    ...headers,
  });
const uiEdit = async (view: any, operations: unknown[]) => {
  const response = await nodeFetch(`${sandbox.partnerCenter.url}/_sandbox/referrals/${view.partnerReferral.id}/edit`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(operations),
  });
  expect(response.status).toBe(200);
};
const deal = async (tag: string): Promise<any> => {
  const created = await call(
    sandbox,
    'POST',
    '/referrals',
    uniqueDeal(example('partner-led-deal.json'), `update-${tag}`),
  );
  expect(created.status).toBe(201);
  return created.body;
};

describe('PATCH /api/referrals/{trackingId}', () => {
  it('moves a PartnerLed deal New → Active/Accepted → Closed/Won, visible in Partner Center and the tracking view; a later change is 409 terminal', async () => {
    const view = await deal('lifecycle');
    const accepted = await patch(view, { status: 'Active' });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({
      state: 'Completed',
      partnerReferral: { status: 'Active', substatus: 'Accepted' },
    });
    expect(referralOf(view)).toMatchObject({ status: 'Active', substatus: 'Accepted' });

    const won = await patch(view, { status: 'Closed', substatus: 'Won' });
    expect(won.status).toBe(200);
    expect(referralOf(view)).toMatchObject({ status: 'Closed', substatus: 'Won' });
    const tracking = (await call(sandbox, 'GET', `/referrals/${view.trackingId}`)).body;
    expect(tracking.partnerReferral).toMatchObject({ status: 'Closed', substatus: 'Won' });
    expect(tracking.history.filter((entry: any) => entry.kind === 'update')).toHaveLength(2);

    const later = await patch(view, { details: { notes: 'too late' } });
    expect(later.status).toBe(409);
    expect(later.headers.get('content-type')).toBe('application/problem+json');
    expect(later.body.type).toMatch(/#terminal-state$/);
    expect(later.body.state).toBe('Closed/Won');
  });

  it('refuses a forbidden transition and a read-only field with 400 and pointers, leaving the simulator untouched', async () => {
    const view = await deal('refusals');
    await patch(view, { status: 'Active' });
    const before = { referral: referralOf(view), calls: patchCalls() };
    const backwards = await patch(view, { status: 'New', substatus: 'Received' });
    expect(backwards.status).toBe(400);
    expect(backwards.body.errors).toEqual([
      expect.objectContaining({ pointer: '/status', code: 'transition_not_allowed' }),
    ]);
    const readOnly = await patch(view, {
      CustomerProfile: { Address: { country: 'US' } },
      consent: { consentToContact: false },
    });
    expect(readOnly.status).toBe(400);
    expect(readOnly.body.errors.map((e: any) => e.pointer)).toEqual([
      '/CustomerProfile/Address',
      '/consent/consentToContact',
    ]);
    expect(referralOf(view)).toEqual(before.referral);
    expect(patchCalls()).toEqual(before.calls);
  });

  it('keeps a UI edit of the notes and our change of the deal value; the same field edited on both sides is 409 #conflict', async () => {
    const view = await deal('merge');
    await uiEdit(view, [{ op: 'replace', path: '/details/notes', value: 'Edited in the UI' }]);
    const ours = await patch(view, { details: { dealValue: 150_000 } });
    expect(ours.status).toBe(200);
    expect(referralOf(view).details).toMatchObject({ notes: 'Edited in the UI', dealValue: 150_000 });

    await uiEdit(view, [{ op: 'replace', path: '/details/dealValue', value: 99_000 }]);
    const conflict = await patch(view, { details: { dealValue: 175_000 } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.type).toMatch(/#conflict$/);
    expect(conflict.body.conflicts).toEqual([
      { pointer: '/details/dealValue', base: 150_000, theirs: 99_000, ours: 175_000 },
    ]);
    expect(referralOf(view).details.dealValue).toBe(99_000);
  });

  it('changes the referral once and adds a team member once for 20 concurrent identical PATCHes with one key', async () => {
    const view = await deal('concurrent');
    const before = patchCalls()['200'] ?? 0;
    const body = {
      details: { dealValue: 222_000 },
      team: [{ firstName: 'Ada', email: 'Ada.Member@Partner.example.com' }],
    };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => patch(view, body, { 'Idempotency-Key': 'e2e-concurrent-1' })),
    );
    expect(answers.every((a) => a.status === 200 || a.status === 202)).toBe(true);
    expect((patchCalls()['200'] ?? 0) - before).toBe(1);
    const team = referralOf(view).team as any[];
    expect(team.filter((m) => m.email.toLowerCase() === 'ada.member@partner.example.com')).toHaveLength(1);
  });

  it('answers a dry run with the JSON Patch and sends nothing', async () => {
    const view = await deal('dry-run');
    const before = patchCalls();
    const dry = await patch(view, { status: 'Closed', substatus: 'Lost', statusReason: 'Budget' }, {}, '?dryRun=true');
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({
      dryRun: true,
      ifMatch: referralOf(view).eTag,
      operations: [
        { op: 'replace', path: '/status', value: 'Closed' },
        { op: 'replace', path: '/substatus', value: 'Lost' },
        { op: 'replace', path: '/statusReason', value: 'Budget' },
      ],
    });
    expect(patchCalls()).toEqual(before);
  });

  it('changes nothing twice when Partner Center commits a PATCH and drops its answer: 202, then the queue finishes it', async () => {
    const view = await deal('lost-answer');
    sandbox.partnerCenter.setFaults({ commitThenDrop: { probability: 1, operations: ['patch'] } });
    const body = { details: { notes: 'after a lost answer' }, team: [{ email: 'lost.answer@partner.example.com' }] };
    const first = await patch(view, body, { 'Idempotency-Key': 'e2e-lost-1' });
    sandbox.partnerCenter.clearFaults();
    expect(first.status).toBe(202);
    expect(first.headers.get('location')).toMatch(new RegExp(`/api/referrals/${view.trackingId}$`));
    const tracking = await eventually(async () => {
      const got = (await call(sandbox, 'GET', `/referrals/${view.trackingId}`)).body;
      return got.history?.some((entry: any) => entry.kind === 'update') ? got : undefined;
    });
    expect(tracking.history.filter((entry: any) => entry.kind === 'update')).toHaveLength(1);
    const team = referralOf(view).team as any[];
    expect(team.filter((m) => m.email === 'lost.answer@partner.example.com')).toHaveLength(1);
    const again = await patch(view, body, { 'Idempotency-Key': 'e2e-lost-1' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('queue referral-update', () => {
  const queue = () => new IntakeSender(sandbox, 'referral-update');

  it('applies a plain JSON change and a base64 one, keyed by trackingId', async () => {
    const view = await deal('queue');
    await queue().send(JSON.stringify({ trackingId: view.trackingId, changes: { details: { dealValue: 1234 } } }));
    await eventually(async () => (referralOf(view).details.dealValue === 1234 ? true : undefined));
    const base64 = Buffer.from(
      JSON.stringify({ TrackingId: view.trackingId, idempotencyKey: 'q-2', changes: { name: 'Queued rename' } }),
    ).toString('base64');
    await queue().send(base64);
    await eventually(async () => (referralOf(view).name === 'Queued rename' ? true : undefined));
  });

  it('notes an invalid change on the record with its reason, never retried', async () => {
    const view = await deal('queue-invalid');
    await queue().send(JSON.stringify({ trackingId: view.trackingId, changes: { customerProfile: { name: 'x' } } }));
    const tracking = await eventually(async () => {
      const got = (await call(sandbox, 'GET', `/referrals/${view.trackingId}`)).body;
      return got.history?.find((entry: any) => entry.kind === 'refused') ? got : undefined;
    });
    // History is shared with Partner Center's events (a `status` entry may come first): find the refusal.
    expect(tracking.history.find((entry: any) => entry.kind === 'refused')).toMatchObject({
      kind: 'refused',
      note: 'validation; /customerProfile/name read_only',
    });
  });
});

describe('fuzz of PATCH bodies', () => {
  it('answers 100 seeded cases with no server error and no side effect from invalid input', async () => {
    const figures = await runPatchFuzz({ cases: 100, seed: 14, sandbox, functionsUrl: sandbox.endpoints.functions });
    expect(figures.findings).toEqual([]);
    expect(figures).toMatchObject({
      serverErrors: 0,
      transportErrors: 0,
      verdictMismatches: 0,
      sideEffectsFromInvalid: 0,
    });
    expect(figures.acceptedByVerdict).toBeGreaterThan(10);
    expect(figures.byStatus['400']).toBeGreaterThan(10);
    expect(figures.byStatus['200']).toBeGreaterThan(10);
  }, 120_000);
});
