/**
 * The use cases against Azurite (tables, queues) and the Partner Center simulator, with the real store,
 * client and queue senders: how many storage requests a referral costs in each link mode, and what
 * happens when the inline link step cannot finish.
 */
import { TableClient } from '@azure/data-tables';
import { startPartnerCenter, type RunningPartnerCenter } from '../../../sandbox/partner-center/server';
import { PartnerCenterClient, PartnerCenterUnavailableError } from '../../../shared/partner-center';
import { createLogger, silentSink } from '../../../shared/platform/logging';
import { JsonQueueSender } from '../../../shared/platform/storageClients';
import { TrackingStore } from '../../../shared/tracking/trackingStore';
import { LinkMode, ReferralWorkflow, type ReferralsApi } from '../../../shared/workflow/referralWorkflow';
import { useAzurite } from '../../helpers/azurite';
import { example, uniqueDeal } from '../../helpers/examples';

const azurite = useAzurite();
let partnerCenter: RunningPartnerCenter;
let store: TrackingStore;
let submitQueue: JsonQueueSender;
let linkQueue: JsonQueueSender;
let queueSuffix = 0;

beforeAll(async () => {
  partnerCenter = await startPartnerCenter({ auth: false, seed: 11 });
});
afterAll(async () => partnerCenter?.close());

beforeEach(async () => {
  await azurite.ready;
  queueSuffix += 1;
  const table = TableClient.fromConnectionString(azurite.connectionString, 'workflowtest', {
    allowInsecureConnection: true,
  });
  store = new TrackingStore({ table });
  submitQueue = new JsonQueueSender(await azurite.createQueue(`wf-submit-${queueSuffix}`));
  linkQueue = new JsonQueueSender(await azurite.createQueue(`wf-link-${queueSuffix}`));
});

const client = () =>
  new PartnerCenterClient({
    baseUrl: partnerCenter.url,
    tokens: { getAccessToken: async () => 'token' },
    baseBackoffMs: 5,
    maxAttempts: 2,
    timeoutMs: 2000,
  });

function workflow(
  options: { partnerCenter?: ReferralsApi; linkMode?: LinkMode; instanceId?: string; nowMs?: () => number } = {},
) {
  return new ReferralWorkflow({
    store,
    partnerCenter: options.partnerCenter ?? client(),
    submitQueue,
    linkQueue,
    logger: createLogger({ sink: silentSink }),
    ...(options.linkMode ? { linkMode: options.linkMode } : {}),
    ...(options.instanceId ? { instanceId: options.instanceId } : {}),
    ...(options.nowMs ? { nowMs: options.nowMs } : {}),
  });
}

const stored = (): any[] => partnerCenter.referrals() as any[];
const engagementOf = (engagementId: string | undefined) => stored().filter((r) => r.engagementId === engagementId);
const microsoftIn = (engagementId: string | undefined) =>
  engagementOf(engagementId).filter((r) => r.organizationId === 'msft');
const messagesIn = async (sender: JsonQueueSender) =>
  (await sender.client.peekMessages({ numberOfMessages: 32 })).peekedMessageItems;

/** Store operations made while `run` runs. */
async function countingStore<T>(run: () => Promise<T>): Promise<{ result: T; reads: number; writes: number }> {
  const before = store.stats();
  const result = await run();
  const after = store.stats();
  return { result, reads: after.reads - before.reads, writes: after.writes - before.writes };
}

describe('ReferralWorkflow, co-sell linked inline (the default)', () => {
  it('links a co-sell deal in the submit call: four table writes (with the referral index row), no read, no queue message', async () => {
    const body = uniqueDeal(example('cosell-deal.json'), 'wf-inline-1');
    const { result, reads, writes } = await countingStore(() =>
      workflow().submit({ body, source: 'http', timeBudgetMs: 10_000 }),
    );
    if (result.kind !== 'tracked') throw new Error(`unexpected outcome ${result.kind}`);
    expect(result.record.state).toBe('Linked');
    expect({ reads, writes }).toEqual({ reads: 0, writes: 4 });
    expect(microsoftIn(result.record.engagementId)).toHaveLength(1);
    expect(result.record.microsoftReferralId).toBe(microsoftIn(result.record.engagementId)[0].id);
    expect(await messagesIn(linkQueue)).toHaveLength(0);
    expect(result.record.request).toBeUndefined();
  });

  it('completes a PartnerLed deal with three table writes (the insert holds the step lease; the referral index row)', async () => {
    const body = uniqueDeal(example('partner-led-deal.json'), 'wf-inline-2');
    const { result, reads, writes } = await countingStore(() => workflow().submit({ body, source: 'queue' }));
    if (result.kind !== 'tracked') throw new Error(`unexpected outcome ${result.kind}`);
    expect(result.record.state).toBe('Completed');
    expect({ reads, writes }).toEqual({ reads: 0, writes: 3 });
    expect(engagementOf(result.record.engagementId)).toHaveLength(1);
  });

  it('hands the link step to referral-link when the Microsoft referral was created but its answer was lost, and the queued step adopts it', async () => {
    const real = client();
    let lostAnswers = 0;
    const losingFirstMicrosoftAnswer: ReferralsApi = {
      listReferrals: (query, options) => real.listReferrals(query, options),
      async createReferral(body, options) {
        const created = await real.createReferral(body, options);
        if (options?.logFields?.step === 'microsoft' && lostAnswers++ === 0) {
          throw new PartnerCenterUnavailableError('The connection to Partner Center failed', { code: 'network' });
        }
        return created;
      },
    };
    const body = uniqueDeal(example('cosell-deal.json'), 'wf-inline-lost');
    const outcome = await workflow({ partnerCenter: losingFirstMicrosoftAnswer }).submit({
      body,
      source: 'http',
      timeBudgetMs: 10_000,
    });
    if (outcome.kind !== 'tracked') throw new Error(`unexpected outcome ${outcome.kind}`);
    expect(outcome.record.state).toBe('CreatingMicrosoft');
    expect(outcome.record.leaseOwner).toBeUndefined();
    expect(outcome.record.lastError).toMatchObject({ step: 'microsoft', code: 'network' });
    const messages = await messagesIn(linkQueue);
    expect(messages.map((m) => JSON.parse(m.messageText).trackingId)).toEqual([outcome.record.trackingId]);

    const linked = await workflow({ instanceId: 'another-instance' }).advanceLink(outcome.record.trackingId);
    expect(linked.record.state).toBe('Linked');
    expect(microsoftIn(outcome.record.engagementId)).toHaveLength(1);
    expect(linked.record.microsoftReferralId).toBe(microsoftIn(outcome.record.engagementId)[0].id);
  });

  it('sends the link step to the queue when the time budget is spent by the partner step', async () => {
    let clockMs = 1_800_000_000_000;
    const real = client();
    const slowPartnerStep: ReferralsApi = {
      listReferrals: (query, options) => real.listReferrals(query, options),
      async createReferral(body, options) {
        const created = await real.createReferral(body, { ...options, deadlineEpochMs: undefined });
        clockMs += 5_000; // the partner step took longer than the whole budget
        return created;
      },
    };
    const body = uniqueDeal(example('cosell-deal.json'), 'wf-inline-budget');
    const outcome = await workflow({ partnerCenter: slowPartnerStep, nowMs: () => clockMs }).submit({
      body,
      source: 'http',
      timeBudgetMs: 2_000,
    });
    if (outcome.kind !== 'tracked') throw new Error(`unexpected outcome ${outcome.kind}`);
    expect(outcome.record.state).toBe('LinkQueued');
    expect(microsoftIn(outcome.record.engagementId)).toHaveLength(0);
    expect(await messagesIn(linkQueue)).toHaveLength(1);
  });

  it('leaves a just-submitted record to the instance whose insert holds the lease', async () => {
    const real = client();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const blockedPartnerStep: ReferralsApi = {
      listReferrals: (query, options) => real.listReferrals(query, options),
      async createReferral(body, options) {
        calls += 1;
        await released;
        return real.createReferral(body, options);
      },
    };
    const body = uniqueDeal(example('partner-led-deal.json'), 'wf-lease');
    const submitting = workflow({ partnerCenter: blockedPartnerStep, instanceId: 'first' }).submit({
      body,
      source: 'http',
    });
    let trackingId: string | undefined;
    for (let i = 0; i < 200 && calls === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toBe(1);
    for await (const record of store.listOpen())
      if (record.state === 'CreatingPartner' && record.request && (record.request as any).referral.name === body.name)
        trackingId = record.trackingId;
    expect(trackingId).toBeDefined();

    const second = await workflow({ partnerCenter: blockedPartnerStep, instanceId: 'second' }).advancePartner(
      trackingId!,
    );
    expect(second.deferred).toBe(true);
    expect(calls).toBe(1);
    release();
    const outcome = await submitting;
    if (outcome.kind !== 'tracked') throw new Error(`unexpected outcome ${outcome.kind}`);
    expect(outcome.record.state).toBe('Completed');
    expect(stored().filter((r) => r.name === body.name)).toHaveLength(1);
  });
});

describe('ReferralWorkflow, co-sell linked through referral-link (LINK_MODE=queue)', () => {
  it('records LinkQueued with one link message, and the link step links it', async () => {
    const body = uniqueDeal(example('cosell-deal.json'), 'wf-queue-1');
    const queued = workflow({ linkMode: LinkMode.Queue });
    const submitted = await countingStore(() => queued.submit({ body, source: 'http', timeBudgetMs: 10_000 }));
    if (submitted.result.kind !== 'tracked') throw new Error(`unexpected outcome ${submitted.result.kind}`);
    const record = submitted.result.record;
    expect(record.state).toBe('LinkQueued');
    expect({ reads: submitted.reads, writes: submitted.writes }).toEqual({ reads: 0, writes: 3 });
    expect(microsoftIn(record.engagementId)).toHaveLength(0);
    expect((await messagesIn(linkQueue)).map((m) => JSON.parse(m.messageText).trackingId)).toEqual([record.trackingId]);

    const linked = await countingStore(() => queued.advanceLink(record.trackingId));
    expect(linked.result.record.state).toBe('Linked');
    expect({ reads: linked.reads, writes: linked.writes }).toEqual({ reads: 1, writes: 2 });
    expect(microsoftIn(record.engagementId)).toHaveLength(1);
  });
});
