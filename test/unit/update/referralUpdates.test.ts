/**
 * The update use case against the Partner Center simulator: status moves, terminal and forbidden
 * changes, the 3-way merge with a person's edits, exactly-once with one Idempotency-Key, lost answers.
 */
import type { ReferralChangeApi } from '../../../shared/update/applyChange';
import { ChangeState } from '../../../shared/update/changeRecord';
import { UpdateWorld, usePartnerCenter } from './updateHarness';

const pc = usePartnerCenter();
let world: UpdateWorld;
beforeEach(() => {
  world = new UpdateWorld(pc.current);
});

const member = (email: string) => ({ firstName: 'Sam', lastName: 'Seller', email });

describe('changing a referral', () => {
  it('moves a PartnerLed deal New → Active/Accepted → Closed/Won, each change in Partner Center and the history', async () => {
    const updates = world.updates();
    const deal = await world.deal();
    expect(world.referral(deal)).toMatchObject({ status: 'New' });

    const accepted = await world.change(updates, deal, { status: 'active' });
    expect(accepted).toMatchObject({ kind: 'answered', status: 200, replayed: false });
    expect(world.referral(deal)).toMatchObject({ status: 'Active', substatus: 'Accepted' });

    const won = await world.change(updates, deal, { Status: 'Closed', SubStatus: 'won', statusReason: 'Signed' });
    expect(won).toMatchObject({ kind: 'answered', status: 200 });
    expect(world.referral(deal)).toMatchObject({ status: 'Closed', substatus: 'Won', statusReason: 'Signed' });

    const record = await world.stored(deal);
    expect(record.state).toBe('Completed');
    expect(record.partnerCenter).toMatchObject({ status: 'Closed', substatus: 'Won', eTag: world.referral(deal).eTag });
    const kinds = record.history!.map((entry) => `${entry.kind}:${entry.to ?? entry.note ?? ''}`);
    expect(kinds).toEqual([
      'update:/status, /substatus, /statusReason',
      'status:Closed/Won',
      'update:/status',
      'status:Active/Accepted',
    ]);
  });

  it('refuses every change of a deal in a terminal state with 409 #terminal-state, naming it, and sends nothing', async () => {
    const updates = world.updates();
    const deal = await world.deal();
    await world.change(updates, deal, { status: 'Closed', substatus: 'Lost' });
    const patches = world.patchCalls();

    const later = await world.change(updates, deal, { details: { notes: 'one more thing' } });
    expect(later).toMatchObject({ kind: 'answered', status: 409 });
    const problem = later.kind === 'answered' ? later.problem : undefined;
    expect(problem?.type).toMatch(/#terminal-state$/);
    expect(problem).toMatchObject({ state: 'Closed/Lost' });
    expect(world.patchCalls()).toEqual(patches);
  });

  it.each([
    ['a move back to New', { status: 'New', substatus: 'Pending' }, '/status', 'transition_not_allowed'],
    ['a substatus of another status', { status: 'Active', substatus: 'Won' }, '/substatus', 'invalid_substatus'],
    ['a read-only customer name', { customerProfile: { name: 'Other' } }, '/customerProfile/name', 'read_only'],
    [
      'an unsharing',
      { consent: { consentToShareReferralWithMicrosoftSellers: false } },
      '/consent/consentToShareReferralWithMicrosoftSellers',
      'unshare_not_allowed',
    ],
    ['a Shared → Independent type', { type: 'Independent' }, '/type', 'unshare_not_allowed'],
  ])('refuses %s with 400 and a pointer, leaving Partner Center untouched', async (_name, body, pointer, code) => {
    const updates = world.updates();
    const deal = await world.deal();
    await world.change(updates, deal, { status: 'Active' });
    const before = world.referral(deal);
    const patches = world.patchCalls();

    const outcome = await world.change(updates, deal, body);
    const problem = outcome.kind === 'problem' || outcome.kind === 'answered' ? outcome.problem : undefined;
    expect(problem).toMatchObject({ status: 400, errors: [{ pointer, code }] });
    expect(world.patchCalls()).toEqual(patches);
    expect(world.referral(deal)).toEqual(before);
  });

  it('keeps a person’s edit of the notes when we then change the deal value', async () => {
    const updates = world.updates();
    const deal = await world.deal();
    await world.uiEdit(deal, [{ op: 'replace', path: '/details/notes', value: 'Edited in Partner Center' }]);
    const outcome = await world.change(updates, deal, { details: { dealValue: 150_000 } });
    expect(outcome).toMatchObject({ kind: 'answered', status: 200 });
    expect(world.referral(deal).details).toMatchObject({ notes: 'Edited in Partner Center', dealValue: 150_000 });
  });

  it('answers 409 #conflict with base, theirs and ours when a person changed the same field, then applies a re-sent change', async () => {
    const updates = world.updates();
    const deal = await world.deal();
    await world.change(updates, deal, { status: 'Active' }); // the record now knows the referral
    await world.uiEdit(deal, [{ op: 'replace', path: '/details/dealValue', value: 90_000 }]);

    const outcome = await world.change(updates, deal, { Details: { DealValue: 150_000 } });
    const problem = outcome.kind === 'answered' ? outcome.problem : undefined;
    expect(problem?.type).toMatch(/#conflict$/);
    expect(problem).toMatchObject({
      status: 409,
      conflicts: [{ pointer: '/Details/DealValue', base: 120_000, theirs: 90_000, ours: 150_000 }],
    });
    expect(world.referral(deal).details.dealValue).toBe(90_000);
    expect((await world.stored(deal)).partnerCenter?.dealValue).toBe(90_000);

    const again = await world.change(updates, deal, { details: { dealValue: 150_000 } });
    expect(again).toMatchObject({ kind: 'answered', status: 200 });
    expect(world.referral(deal).details.dealValue).toBe(150_000);
  });

  it('re-reads on 412 and applies on the new eTag when the edit in between touched another field', async () => {
    const deal = await world.deal();
    const edits = interleaving(world, deal, [{ op: 'replace', path: '/details/notes', value: 'meanwhile' }]);
    const outcome = await world.change(world.updates({ partnerCenter: edits }), deal, { details: { dealValue: 1 } });
    expect(outcome).toMatchObject({ kind: 'answered', status: 200 });
    expect(world.patchCalls()).toMatchObject({ '412': 1, '200': 1 });
    expect(world.referral(deal).details).toMatchObject({ notes: 'meanwhile', dealValue: 1 });
  });

  it('answers 409 #conflict when the edit in between touched the same field, and never overwrites it', async () => {
    const deal = await world.deal();
    const edits = interleaving(world, deal, [{ op: 'replace', path: '/details/notes', value: 'theirs' }]);
    const outcome = await world.change(world.updates({ partnerCenter: edits }), deal, { details: { notes: 'ours' } });
    const problem = outcome.kind === 'answered' ? outcome.problem : undefined;
    expect(problem).toMatchObject({
      status: 409,
      conflicts: [{ pointer: '/details/notes', theirs: 'theirs', ours: 'ours' }],
    });
    expect(world.referral(deal).details.notes).toBe('theirs');
  });

  it('changes the referral once and adds a team member once for 20 concurrent identical requests with one key', async () => {
    const updates = world.updates();
    const deal = await world.deal();
    const body = { details: { dealValue: 200_000 }, team: [member('New.Member@Partner.example.com')] };
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => world.change(updates, deal, body, { idempotencyKey: 'crm-change-1' })),
    );
    expect(outcomes.every((o) => (o.kind === 'answered' && o.status === 200) || o.kind === 'pending')).toBe(true);
    expect(outcomes.filter((o) => o.kind === 'answered' && !o.replayed)).toHaveLength(1);
    expect(world.patchCalls()).toEqual({ '200': 1 });
    const team = world.referral(deal).team as Array<{ email: string }>;
    expect(team.filter((m) => m.email.toLowerCase() === 'new.member@partner.example.com')).toHaveLength(1);
    expect(world.changes.all().map((c) => c.state)).toEqual([ChangeState.Applied]);
  });

  it('replays the answer for the same key and refuses the key for another body with 422', async () => {
    const updates = world.updates();
    const deal = await world.deal();
    const first = await world.change(updates, deal, { name: 'Renamed' }, { idempotencyKey: 'k-1' });
    const again = await world.change(updates, deal, { NAME: 'Renamed' }, { idempotencyKey: 'k-1' });
    expect(first).toMatchObject({ kind: 'answered', status: 200, replayed: false });
    expect(again).toMatchObject({ kind: 'answered', status: 200, replayed: true });
    const other = await world.change(updates, deal, { name: 'Another' }, { idempotencyKey: 'k-1' });
    expect(other).toMatchObject({ kind: 'problem', problem: { status: 422 } });
    expect(world.patchCalls()).toEqual({ '200': 1 });
  });

  it('changes nothing twice after a lost answer (commit then drop on patch): 202, then the resume finds it applied', async () => {
    const updates = world.updates();
    const deal = await world.deal();
    world.simulator.setFaults({ commitThenDrop: { probability: 1, operations: ['patch'] } });
    const outcome = await world.change(updates, deal, {
      team: [member('lost@partner.example.com')],
      details: { notes: 'n2' },
    });
    expect(outcome).toMatchObject({ kind: 'pending' });
    expect(world.queue.messages).toHaveLength(1);
    world.simulator.clearFaults();

    const { trackingId, changeId } = world.queue.messages[0];
    const resumed = await updates.resume(trackingId, changeId);
    expect(resumed).toMatchObject({ kind: 'answered', status: 200 });
    expect(world.patchCalls()).toEqual({ dropped: 1 });
    const team = world.referral(deal).team as Array<{ email: string }>;
    expect(team.filter((m) => m.email === 'lost@partner.example.com')).toHaveLength(1);
    expect((await world.stored(deal)).history?.[0]).toMatchObject({ kind: 'update', note: '/details/notes, /team' });
  });

  it('answers a dry run with the JSON Patch and If-Match, and sends and stores nothing', async () => {
    const updates = world.updates();
    const deal = await world.deal();
    const outcome = await world.change(
      updates,
      deal,
      { status: 'Closed', substatus: 'Won', team: [member('x@partner.example.com')] },
      { dryRun: true },
    );
    expect(outcome).toMatchObject({
      kind: 'dryRun',
      ifMatch: world.referral(deal).eTag,
      operations: [
        { op: 'replace', path: '/status', value: 'Closed' },
        { op: 'replace', path: '/substatus', value: 'Won' },
        { op: 'add', path: '/team/-', value: member('x@partner.example.com') },
      ],
    });
    expect(world.patchCalls()).toEqual({});
    expect(world.changes.all()).toEqual([]);
  });

  it('notes a refused queue change on the record (visible through the GET) and does not retry it', async () => {
    const updates = world.updates();
    const deal = await world.deal();
    const invalid = await updates.change({
      trackingId: deal.trackingId,
      body: { details: { dealValue: -1 } },
      source: 'queue',
      messageKey: 'm1',
    });
    expect(invalid).toMatchObject({ kind: 'problem', problem: { status: 400 } });
    await updates.change({
      trackingId: deal.trackingId,
      body: { status: 'Closed', substatus: 'Won' },
      source: 'queue',
      messageKey: 'm2',
    });
    const refused = await updates.change({
      trackingId: deal.trackingId,
      body: { name: 'late' },
      source: 'queue',
      messageKey: 'm3',
    });
    expect(refused).toMatchObject({ kind: 'answered', status: 409 });
    const history = (await world.stored(deal)).history!;
    expect(history[0]).toMatchObject({ kind: 'refused', note: 'terminal-state' });
    expect(history.at(-1)).toMatchObject({ kind: 'refused', note: 'validation; /details/dealValue negative' });
  });

  it('answers 409 #not-created for a record Partner Center refused', async () => {
    const updates = world.updates();
    world.simulator.setFaults({});
    const deal = await world.deal();
    await world.records.update(deal, { partnerReferralId: undefined });
    const outcome = await world.change(updates, deal, { name: 'x' });
    expect(outcome).toMatchObject({ kind: 'problem', problem: { status: 409 } });
  });
});

/** Partner Center with a person's edit landing right before our first PATCH (between our GET and it). */
function interleaving(
  world: UpdateWorld,
  deal: { partnerReferralId?: string },
  operations: unknown[],
): ReferralChangeApi {
  let edited = false;
  return {
    getReferral: (id, options) => world.client.getReferral(id, options),
    patchReferral: async (id, ops, options) => {
      if (!edited) {
        edited = true;
        await world.uiEdit(deal as never, operations);
      }
      return world.client.patchReferral(id, ops, options);
    },
  };
}
