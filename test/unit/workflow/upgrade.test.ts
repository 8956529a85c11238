/**
 * Upgrade a deal to co-sell later: every branch of the use case, run by the real workflow on the in-memory
 * store (fake clock) against the Partner Center simulator over HTTP with the real client.
 */
import {
  PartnerCenterClient,
  PartnerCenterUnavailableError,
  type PartnerCenterReferral,
} from '../../../shared/partner-center';
import { createLogger, silentSink } from '../../../shared/platform/logging';
import type { TrackingRecord } from '../../../shared/tracking/trackingRecord';
import { LinkMode } from '../../../shared/workflow/ports';
import type { ReferralWorkflow } from '../../../shared/workflow/referralWorkflow';
import { CoSellUpgrade } from '../../../shared/workflow/upgrade';
import { parseUpgradeBody } from '../../../shared/workflow/upgradeBody';
import { PrivateUpgrade, type UpgradeOutcome } from '../../../shared/workflow/upgradeDecision';
import type { ReferralUpdatesApi } from '../../../shared/workflow/upgradeShare';
import { example, uniqueDeal } from '../../helpers/examples';
import { World, usePartnerCenter } from './helpers/workflowHarness';

const simulator = usePartnerCenter();
let world: World;
let client: PartnerCenterClient;
beforeEach(() => {
  world = new World(simulator.current);
  client = new PartnerCenterClient({
    baseUrl: simulator.current.url,
    tokens: { getAccessToken: async () => 'token' },
    maxAttempts: 1,
    timeoutMs: 5000,
  });
});

const COSELL = { notes: 'Customer asks for an Azure proof of concept.', assistanceRequestCode: 'ProofOfConceptOrDemo' };

/** The Partner Center reads and writes of an upgrade, counted, with a scripted failure of the next call. */
class CountingUpdates implements ReferralUpdatesApi {
  readonly calls: string[] = [];
  failNext?: { call: 'get' | 'patch'; error: Error };
  constructor(readonly inner: PartnerCenterClient) {}
  getReferral: ReferralUpdatesApi['getReferral'] = async (id, options) => {
    this.#fault('get');
    return this.inner.getReferral(id, options);
  };
  patchReferral: ReferralUpdatesApi['patchReferral'] = async (id, operations, options) => {
    this.#fault('patch');
    return this.inner.patchReferral(id, operations, options);
  };
  #fault(call: 'get' | 'patch'): void {
    this.calls.push(call);
    if (this.failNext?.call !== call) return;
    const { error } = this.failNext;
    this.failNext = undefined;
    throw error;
  }
}

function upgrader(
  workflow: ReferralWorkflow,
  options: {
    instanceId?: string;
    linkInline?: boolean;
    privateUpgrade?: PrivateUpgrade;
    updates?: ReferralUpdatesApi;
  } = {},
): CoSellUpgrade {
  return new CoSellUpgrade({
    records: world.records,
    runner: workflow.steps,
    partnerCenter: options.updates ?? client,
    logger: createLogger({ sink: silentSink }),
    lease: { instanceId: options.instanceId ?? 'a', leaseDurationMs: 60_000, nowMs: () => world.clockMs },
    linkInline: options.linkInline ?? true,
    ...(options.privateUpgrade ? { privateUpgrade: options.privateUpgrade } : {}),
  });
}

async function created(file: string, tag: string): Promise<TrackingRecord> {
  const outcome = await world.workflow().submit({ body: uniqueDeal(example(file), tag), source: 'http' });
  if (outcome.kind !== 'tracked') throw new Error(`unexpected ${outcome.kind}`);
  return outcome.record;
}

function partnerReferralOf(record: TrackingRecord): PartnerCenterReferral {
  const found = world.simulator.referrals().find((r) => r.id === record.partnerReferralId);
  if (!found) throw new Error('no partner referral');
  return found;
}

function problemOf(outcome: UpgradeOutcome): { status: number; type: string; detail?: string } {
  if (!('problem' in outcome)) throw new Error(`no problem in ${outcome.kind}`);
  return outcome.problem;
}

describe('upgrade of a PartnerLed deal', () => {
  it('Completed → CreatingMicrosoft → Linked inline: one Microsoft referral in the same engagement, request purged', async () => {
    const record = await created('partner-led-deal.json', 'u-pl');
    const partnerBefore = partnerReferralOf(record);
    world.clockMs += 24 * 3600_000; // created yesterday
    const outcome = await upgrader(world.workflow()).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL },
    });
    expect(outcome).toMatchObject({ kind: 'tracked', upgraded: true, record: { state: 'Linked', dealType: 'CoSell' } });
    const stored = await world.stored(record.trackingId);
    const microsoft = world.microsoftIn(stored);
    expect(microsoft).toHaveLength(1);
    expect(stored).toMatchObject({
      microsoftReferralId: microsoft[0].id,
      partnerReferralId: record.partnerReferralId,
      engagementId: record.engagementId,
    });
    expect(stored.request).toBeUndefined();
    expect(stored.leaseOwner).toBeUndefined();
    expect(stored.history?.[0]).toMatchObject({ kind: 'upgrade', from: 'PartnerLed', to: 'CoSell', source: 'us' });
    expect(microsoft[0]).toMatchObject({
      type: 'Shared',
      inviteContext: { notes: COSELL.notes, assistanceRequestCode: 'ProofOfConceptOrDemo' },
    });
    // The partner referral is left as it was (already shared): not patched.
    expect(partnerReferralOf(record).eTag).toBe(partnerBefore.eTag);
  });

  it('sends MS-RequestId trackingId:microsoft, the derivation a deal created as CoSell uses', async () => {
    const record = await created('partner-led-deal.json', 'u-rid');
    await upgrader(world.workflow()).upgrade({ trackingId: record.trackingId, body: { coSell: COSELL } });
    // A second create with the same MS-RequestId is answered from Partner Center's record, nothing new made.
    const { stepRequestId } = await import('../../../shared/workflow/stepTable');
    const again = await client.createReferral({}, { requestId: stepRequestId(record.trackingId, 'microsoft') });
    expect(again.id).toBe((await world.stored(record.trackingId)).microsoftReferralId);
    expect(world.simulator.stats().idempotentReplays).toBe(1);
  });

  it('Completed → LinkQueued with LINK_MODE=queue: the coSell block kept in the request, the link message sent, referral-link links it', async () => {
    const record = await created('partner-led-deal.json', 'u-queue');
    const workflow = world.workflow({ linkMode: LinkMode.Queue });
    const outcome = await upgrader(workflow, { linkInline: false }).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL },
    });
    expect(outcome).toMatchObject({ kind: 'tracked', upgraded: true, record: { state: 'LinkQueued' } });
    const queued = await world.stored(record.trackingId);
    expect(queued.request?.coSell).toEqual(COSELL);
    expect(queued.request?.referral).toMatchObject({ type: 'Shared', customerProfile: expect.any(Object) });
    expect(world.linkQueue.ids()).toEqual([record.trackingId]);
    const linked = await workflow.advanceLink(record.trackingId);
    expect(linked.record).toMatchObject({ state: 'Linked' });
    expect(world.microsoftIn(linked.record)).toHaveLength(1);
  });

  it('20 concurrent upgrades make one claim and one Microsoft referral; the others see it in flight or Linked', async () => {
    const record = await created('partner-led-deal.json', 'u-20');
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        upgrader(world.workflow({ instanceId: `i${i}` }), { instanceId: `i${i}` }).upgrade({
          trackingId: record.trackingId,
          body: { coSell: COSELL },
        }),
      ),
    );
    expect(outcomes.every((o) => o.kind === 'tracked')).toBe(true);
    expect(outcomes.filter((o) => o.kind === 'tracked' && o.upgraded)).toHaveLength(1);
    const others = outcomes.filter((o) => o.kind === 'tracked' && !o.upgraded);
    for (const o of others) expect(['CreatingMicrosoft', 'Linked']).toContain(o.kind === 'tracked' && o.record.state);
    const stored = await world.stored(record.trackingId);
    expect(stored.state).toBe('Linked');
    expect(world.microsoftIn(stored)).toHaveLength(1);
    expect(world.partnerCenter.calls.filter((c) => c === 'microsoft')).toHaveLength(1);
  });

  it('a lost answer of the Microsoft create: handed to referral-link, which adopts the referral made (no second one)', async () => {
    const record = await created('partner-led-deal.json', 'u-lost');
    world.partnerCenter.next('microsoft', 'lostAnswer');
    const workflow = world.workflow();
    const outcome = await upgrader(workflow).upgrade({ trackingId: record.trackingId, body: { coSell: COSELL } });
    expect(outcome).toMatchObject({
      kind: 'tracked',
      record: { state: 'CreatingMicrosoft', lastError: { code: 'network' } },
    });
    expect(world.linkQueue.ids()).toEqual([record.trackingId]);
    expect(world.microsoftIn(record)).toHaveLength(1);
    const linked = await world.workflow({ instanceId: 'b' }).advanceLink(record.trackingId);
    expect(linked.record.state).toBe('Linked');
    expect(world.partnerCenter.calls).toContain('microsoft-lookup');
    expect(world.microsoftIn(linked.record)).toHaveLength(1);
    expect(linked.record.microsoftReferralId).toBe(world.microsoftIn(linked.record)[0].id);
  });

  it('a crash after the claim: the sweeper resumes the Microsoft step through referral-link, once', async () => {
    const record = await created('partner-led-deal.json', 'u-crash');
    world.partnerCenter.next('microsoft', 'unavailable');
    const workflow = world.workflow();
    await upgrader(workflow).upgrade({ trackingId: record.trackingId, body: { coSell: COSELL } });
    world.linkQueue.messages.length = 0; // the hand-over message is lost
    world.clockMs += 10 * 60_000;
    await world.sweeper(workflow).sweep();
    expect(world.linkQueue.ids()).toEqual([record.trackingId]);
    const linked = await world.workflow({ instanceId: 'b' }).advanceLink(record.trackingId);
    expect(linked.record.state).toBe('Linked');
    expect(world.microsoftIn(linked.record)).toHaveLength(1);
  });

  it('a Partner Center refusal of the Microsoft referral ends the record Rejected, the partner referral kept', async () => {
    const record = await created('partner-led-deal.json', 'u-refused');
    world.partnerCenter.next('microsoft', 'rejected');
    const outcome = await upgrader(world.workflow()).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL },
    });
    expect(outcome).toMatchObject({
      kind: 'rejected',
      record: { state: 'Rejected', partnerReferralId: record.partnerReferralId, lastError: { step: 'microsoft' } },
    });
    const again = await upgrader(world.workflow()).upgrade({ trackingId: record.trackingId, body: { coSell: COSELL } });
    expect(problemOf(again)).toMatchObject({ status: 409, type: expect.stringMatching(/#not-upgradable$/) });
  });
});

describe('upgrade of a Private deal', () => {
  it('without shareWithMicrosoft: 400 explaining that sharing cannot be undone; nothing called, nothing changed', async () => {
    const record = await created('private-deal.json', 'u-priv-400');
    const updates = new CountingUpdates(client);
    const outcome = await upgrader(world.workflow(), { updates }).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL },
    });
    expect(outcome.kind).toBe('invalid');
    expect(problemOf(outcome)).toMatchObject({
      status: 400,
      type: expect.stringMatching(/#share-with-microsoft-required$/),
    });
    expect(problemOf(outcome).detail).toMatch(/cannot be undone/);
    expect(updates.calls).toEqual([]);
    expect(await world.stored(record.trackingId)).toEqual(record);
  });

  it('with shareWithMicrosoft: shares the partner referral first (type Shared, consent true), then links', async () => {
    const record = await created('private-deal.json', 'u-priv');
    expect(partnerReferralOf(record)).toMatchObject({ type: 'Independent' });
    const updates = new CountingUpdates(client);
    const outcome = await upgrader(world.workflow(), { updates }).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL, shareWithMicrosoft: true },
    });
    expect(outcome).toMatchObject({ kind: 'tracked', upgraded: true, record: { state: 'Linked', dealType: 'CoSell' } });
    expect(updates.calls).toEqual(['get', 'patch']);
    expect(partnerReferralOf(record)).toMatchObject({
      type: 'Shared',
      consent: { consentToShareReferralWithMicrosoftSellers: true },
    });
    const [microsoft] = world.microsoftIn(record);
    expect(microsoft).toMatchObject({ consent: { consentToShareReferralWithMicrosoftSellers: true } });
    expect((await world.stored(record.trackingId)).history?.[0]).toMatchObject({
      from: 'Private',
      note: expect.stringMatching(/shared/),
    });
  });

  it('a retry after a crash between the share and the claim skips the PATCH (already shared) and links', async () => {
    const record = await created('private-deal.json', 'u-priv-retry');
    const referral = partnerReferralOf(record);
    await client.patchReferral(
      referral.id,
      [
        { op: 'replace', path: '/type', value: 'Shared' },
        { op: 'replace', path: '/consent/consentToShareReferralWithMicrosoftSellers', value: true },
      ],
      { ifMatch: referral.eTag },
    );
    const updates = new CountingUpdates(client);
    const outcome = await upgrader(world.workflow(), { updates }).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL, shareWithMicrosoft: true },
    });
    expect(outcome).toMatchObject({ kind: 'tracked', record: { state: 'Linked' } });
    expect(updates.calls).toEqual(['get']);
  });

  it('a referral edited between the GET and the PATCH (412): read again and shared with the new eTag', async () => {
    const record = await created('private-deal.json', 'u-priv-412');
    const updates = new CountingUpdates(client);
    const inner = updates.getReferral;
    let edited = false;
    updates.getReferral = async (id, options) => {
      const read = await inner(id, options);
      if (!edited) {
        edited = true; // someone edits the deal in Partner Center right after our read
        await client.patchReferral(id, [{ op: 'replace', path: '/details/notes', value: 'Edited in the UI' }]);
      }
      return read;
    };
    const outcome = await upgrader(world.workflow(), { updates }).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL, shareWithMicrosoft: true },
    });
    expect(outcome).toMatchObject({ kind: 'tracked', record: { state: 'Linked' } });
    expect(updates.calls).toEqual(['get', 'patch', 'get', 'patch']);
    expect(partnerReferralOf(record)).toMatchObject({ type: 'Shared', details: { notes: 'Edited in the UI' } });
  });

  it('COSELL_UPGRADE_PRIVATE=refuse: 409 saying a new co-sell deal is needed, nothing called', async () => {
    const record = await created('private-deal.json', 'u-priv-refuse');
    const updates = new CountingUpdates(client);
    const outcome = await upgrader(world.workflow(), { updates, privateUpgrade: PrivateUpgrade.Refuse }).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL, shareWithMicrosoft: true },
    });
    expect(problemOf(outcome)).toMatchObject({ status: 409, type: expect.stringMatching(/#private-upgrade-refused$/) });
    expect(problemOf(outcome).detail).toMatch(/new deal of type CoSell/);
    expect(updates.calls).toEqual([]);
  });

  it('Partner Center refusing the share: 422, the record unchanged and no Microsoft referral', async () => {
    const record = await created('private-deal.json', 'u-priv-pc-refuses');
    world.simulator.setFaults({ clientErrors: { probability: 1, statuses: [400], operations: ['patch'] } });
    try {
      const outcome = await upgrader(world.workflow()).upgrade({
        trackingId: record.trackingId,
        body: { coSell: COSELL, shareWithMicrosoft: true },
      });
      expect(problemOf(outcome)).toMatchObject({
        status: 422,
        type: expect.stringMatching(/#partner-center-rejected$/),
      });
    } finally {
      world.simulator.clearFaults();
    }
    expect(await world.stored(record.trackingId)).toEqual(record);
    expect(world.microsoftIn(record)).toHaveLength(0);
  });

  it('the simulator accepts sharing (false → true, Independent → Shared) and refuses un-sharing', async () => {
    const record = await created('private-deal.json', 'u-unshare');
    await upgrader(world.workflow()).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL, shareWithMicrosoft: true },
    });
    const shared = partnerReferralOf(record);
    await expect(
      client.patchReferral(shared.id, [{ op: 'replace', path: '/type', value: 'Independent' }]),
    ).rejects.toMatchObject({ status: 400, target: 'type' });
    await expect(
      client.patchReferral(shared.id, [
        { op: 'replace', path: '/consent/consentToShareReferralWithMicrosoftSellers', value: false },
      ]),
    ).rejects.toMatchObject({ status: 400, target: 'consent.consentToShareReferralWithMicrosoftSellers' });
  });
});

describe('what is refused or answered as it is', () => {
  it('a closed deal (from the Partner Center snapshot): 409 terminal-state, no call', async () => {
    const record = await created('partner-led-deal.json', 'u-term-snap');
    const closed = await world.records.update(record, {
      partnerCenter: { id: record.partnerReferralId!, status: 'Closed', substatus: 'Won' },
    });
    const updates = new CountingUpdates(client);
    const outcome = await upgrader(world.workflow(), { updates }).upgrade({
      trackingId: closed.trackingId,
      body: { coSell: COSELL },
    });
    expect(problemOf(outcome)).toMatchObject({ status: 409, type: expect.stringMatching(/#terminal-state$/) });
    expect(problemOf(outcome).detail).toMatch(/Won/);
    expect(updates.calls).toEqual([]);
  });

  it('a closed deal (no snapshot, read from Partner Center): 409 terminal-state, nothing created', async () => {
    const record = await created('partner-led-deal.json', 'u-term-get');
    await client.patchReferral(record.partnerReferralId!, [
      { op: 'replace', path: '/status', value: 'Closed' },
      { op: 'replace', path: '/substatus', value: 'Lost' },
    ]);
    const outcome = await upgrader(world.workflow()).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL },
    });
    expect(problemOf(outcome)).toMatchObject({ status: 409, type: expect.stringMatching(/#terminal-state$/) });
    expect(world.microsoftIn(record)).toHaveLength(0);
    expect((await world.stored(record.trackingId)).state).toBe('Completed');
  });

  it('an inbound referral: 409, not the partner’s to upgrade', async () => {
    const record = await created('partner-led-deal.json', 'u-inbound');
    const inbound = await world.records.update(record, { direction: 'inbound' });
    const outcome = await upgrader(world.workflow()).upgrade({
      trackingId: inbound.trackingId,
      body: { coSell: COSELL },
    });
    expect(problemOf(outcome)).toMatchObject({ status: 409, type: expect.stringMatching(/#inbound-referral$/) });
  });

  it('a deal that is co-sell already: the record as it is, nothing called', async () => {
    const record = await created('cosell-deal.json', 'u-already');
    const updates = new CountingUpdates(client);
    const outcome = await upgrader(world.workflow(), { updates }).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL },
    });
    expect(outcome).toEqual({ kind: 'tracked', upgraded: false, record });
    expect(updates.calls).toEqual([]);
  });

  it('a deal still being created: 409 naming its state', async () => {
    world.partnerCenter.next('partner', 'unavailable');
    const record = await created('partner-led-deal.json', 'u-early');
    const outcome = await upgrader(world.workflow()).upgrade({
      trackingId: record.trackingId,
      body: { coSell: COSELL },
    });
    expect(problemOf(outcome)).toMatchObject({ status: 409, detail: expect.stringMatching(/CreatingPartner/) });
  });

  it('a deal Partner Center refused: 409 pointing at fix and resend', async () => {
    world.partnerCenter.next('partner', 'rejected');
    const refused = await world.workflow().submit({
      body: uniqueDeal(example('partner-led-deal.json'), 'u-rej'),
      source: 'http',
    });
    if (refused.kind !== 'rejected') throw new Error(`unexpected ${refused.kind}`);
    const outcome = await upgrader(world.workflow()).upgrade({
      trackingId: refused.record.trackingId,
      body: { coSell: COSELL },
    });
    expect(problemOf(outcome)).toMatchObject({ status: 409, detail: expect.stringMatching(/fix and resend/) });
  });

  it('an unknown trackingId: 404', async () => {
    const outcome = await upgrader(world.workflow()).upgrade({
      trackingId: 'r0123456789abcdef0123456789abcde',
      body: { coSell: COSELL },
    });
    expect(problemOf(outcome)).toMatchObject({ status: 404 });
  });

  it('a transient GET failure is thrown (retryable) and changes nothing', async () => {
    const record = await created('partner-led-deal.json', 'u-get-503');
    const updates = new CountingUpdates(client);
    updates.failNext = {
      call: 'get',
      error: new PartnerCenterUnavailableError('down', { status: 503, code: 'serviceUnavailable' }),
    };
    await expect(
      upgrader(world.workflow(), { updates }).upgrade({ trackingId: record.trackingId, body: { coSell: COSELL } }),
    ).rejects.toMatchObject({ retryable: true });
    expect(await world.stored(record.trackingId)).toEqual(record);
  });
});

describe('the upgrade body', () => {
  it('accepts the coSell block the create knows, keys in any case', () => {
    expect(
      parseUpgradeBody({
        CoSell: { Notes: 'n', AssistanceRequestCode: 'proofofconceptordemo' },
        ShareWithMicrosoft: true,
      }),
    ).toEqual({
      ok: true,
      value: { coSell: { notes: 'n', assistanceRequestCode: 'ProofOfConceptOrDemo' }, shareWithMicrosoft: true },
    });
  });

  it.each([
    ['no coSell block', {}, '/coSell'],
    ['no notes', { coSell: { assistanceRequestCode: 'ProofOfConceptOrDemo' } }, '/coSell/notes'],
    [
      'an unknown help code',
      { coSell: { notes: 'n', assistanceRequestCode: 'Nope' } },
      '/coSell/assistanceRequestCode',
    ],
    ['an unknown field', { coSell: COSELL, extra: 1 }, '/extra'],
    ['shareWithMicrosoft not a boolean', { coSell: COSELL, shareWithMicrosoft: 'yes' }, '/shareWithMicrosoft'],
  ])('refuses %s with a 400 pointing at it', (_name, body, pointer) => {
    const parsed = parseUpgradeBody(body);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem.status).toBe(400);
    expect(parsed.problem.errors?.map((e) => e.pointer)).toContain(pointer);
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, 'text', 42, []]) expect(parseUpgradeBody(body).ok).toBe(false);
  });
});
