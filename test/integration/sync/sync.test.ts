/**
 * The sync half against the real simulator (signed webhook deliveries to a loopback receiver) and Azurite
 * (the Table store, the `referral-events` queue, the watermark row): Microsoft's answers, duplicate and
 * reordered deliveries, inbound leads, UI edits, reconciliation after every event was lost, two
 * reconcilers at once, and the race of an event with our own create. The use cases are driven directly
 * (the verified delivery is turned into its `referral-sync` message as the receiver would).
 */
import { TableClient } from '@azure/data-tables';
import type { QueueClient } from '@azure/storage-queue';
import { startPartnerCenter, type RunningPartnerCenter } from '../../../sandbox/partner-center/server';
import { parseEventBody } from '../../../shared/events/eventBody';
import { toReferralSyncMessage, type ReferralSyncMessage } from '../../../shared/events/eventMessage';
import { PartnerCenterClient } from '../../../shared/partner-center';
import { createLogger, silentSink } from '../../../shared/platform/logging';
import { JsonQueueSender } from '../../../shared/platform/storageClients';
import { SyncDeferredError } from '../../../shared/sync/errors';
import { inboundTrackingId } from '../../../shared/sync/inboundRecord';
import { Reconciler } from '../../../shared/sync/reconciler';
import { ReferralSync } from '../../../shared/sync/referralSync';
import { SnapshotApplier } from '../../../shared/sync/snapshotApplier';
import { TableWatermarkRows, WatermarkLease } from '../../../shared/sync/watermark';
import type { CloudEventEnvelope, TrackingRecord } from '../../../shared/tracking/trackingRecord';
import { TrackingStore } from '../../../shared/tracking/trackingStore';
import { ReferralWorkflow, type ReferralsApi } from '../../../shared/workflow/referralWorkflow';
import { toTrackingView } from '../../../shared/workflow/trackingView';
import { useAzurite } from '../../helpers/azurite';
import { example, uniqueDeal } from '../../helpers/examples';
import { startEventReceiver, type EventReceiver } from '../sandbox/eventReceiver';

const azurite = useAzurite();
const logger = createLogger({ sink: silentSink });
let partnerCenter: RunningPartnerCenter;
let receiver: EventReceiver;
let suffix = 0;

beforeAll(async () => {
  partnerCenter = await startPartnerCenter({ auth: false, seed: 5, webhooks: { retryBaseDelayMs: 5 } });
  receiver = await startEventReceiver();
});
afterAll(async () => {
  await partnerCenter?.close();
  await receiver?.close();
});

/** One test's world: a fresh table and events queue, the workflow, the sync use cases. */
class World {
  readonly store: TrackingStore;
  readonly table: TableClient;
  readonly events: QueueClient;
  readonly client: PartnerCenterClient;
  readonly applier: SnapshotApplier;
  readonly sync: ReferralSync;
  #seen = 0;

  constructor(table: TableClient, events: QueueClient) {
    this.table = table;
    this.events = events;
    this.store = new TrackingStore({ table });
    this.client = new PartnerCenterClient({
      baseUrl: partnerCenter.url,
      tokens: { getAccessToken: async () => 'token' },
      baseBackoffMs: 5,
      maxAttempts: 2,
    });
    this.applier = new SnapshotApplier({
      records: this.store,
      queue: new JsonQueueSender(events),
      logger,
      statusUrlFor: (id) => `http://127.0.0.1/api/referrals/${id}`,
    });
    this.sync = new ReferralSync({ records: this.store, partnerCenter: this.client, applier: this.applier, logger });
  }

  workflow(partner: ReferralsApi = this.client): ReferralWorkflow {
    const unused = { send: async () => undefined };
    return new ReferralWorkflow({
      store: this.store,
      partnerCenter: partner,
      submitQueue: unused,
      linkQueue: unused,
      logger,
    });
  }

  reconciler(instanceId: string): Reconciler {
    return new Reconciler({
      records: this.store,
      partnerCenter: this.client,
      sync: this.sync,
      watermark: new WatermarkLease(new TableWatermarkRows(this.table)),
      logger,
      instanceId,
    });
  }

  /** A co-sell deal created through the workflow (Linked). */
  async coSellDeal(tag: string): Promise<TrackingRecord> {
    const outcome = await this.workflow().submit({
      body: uniqueDeal(example('cosell-deal.json'), tag),
      source: 'http',
      timeBudgetMs: 10_000,
    });
    if (outcome.kind !== 'tracked' || outcome.record.state !== 'Linked') throw new Error(`not linked: ${outcome.kind}`);
    return outcome.record;
  }

  /** The `referral-sync` messages of the deliveries made since the last call. */
  async newMessages(): Promise<ReferralSyncMessage[]> {
    await partnerCenter.eventsSettled();
    const fresh = receiver.received.slice(this.#seen);
    this.#seen = receiver.received.length;
    return fresh.flatMap(({ raw }) => {
      const parsed = parseEventBody(new Uint8Array(raw));
      if (!parsed.ok || parsed.event.kind !== 'sync') return [];
      return [toReferralSyncMessage(parsed.event, { receivedAtMs: Date.now() })];
    });
  }

  /** Handles every new delivery once, in order. */
  async deliver(): Promise<void> {
    for (const message of await this.newMessages()) await this.sync.handle(message);
  }

  async cloudEvents(): Promise<CloudEventEnvelope[]> {
    const peeked = await this.events.peekMessages({ numberOfMessages: 32 });
    return peeked.peekedMessageItems.map((m) => JSON.parse(m.messageText) as CloudEventEnvelope);
  }

  async view(trackingId: string) {
    return toTrackingView((await this.store.read(trackingId))!, 'self');
  }
}

let world: World;

beforeEach(async () => {
  await azurite.ready;
  suffix += 1;
  partnerCenter.reset({ registrations: true });
  partnerCenter.registerWebhook({ webhookUrl: receiver.url });
  receiver.received.length = 0;
  const table = TableClient.fromConnectionString(azurite.connectionString, `synctest${suffix}`, {
    allowInsecureConnection: true,
  });
  world = new World(table, await azurite.createQueue(`referral-events-${suffix}`));
});

async function decide(referralId: string, decision: 'Accepted' | 'Declined' | 'Expired', extra: object = {}) {
  const response = await fetch(`${partnerCenter.url}/_sandbox/referrals/${referralId}/microsoft-decision`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ decision, ...extra }),
  });
  expect(response.status).toBe(200);
}

describe("Microsoft's answer", () => {
  it.each([
    ['Accepted', 'referral.microsoft.accepted'],
    ['Declined', 'referral.microsoft.declined'],
    ['Expired', 'referral.microsoft.expired'],
  ] as const)('%s: the view shows it and exactly one %s is published', async (decision, type) => {
    const record = await world.coSellDeal(`sync-${decision}`);
    await world.deliver(); // referral-created, related-referral-created: first sight, nothing to publish
    expect(await world.cloudEvents()).toEqual([]);
    await decide(record.partnerReferralId!, decision, decision === 'Declined' ? { reason: 'No seller' } : {});
    await world.deliver();
    const view = await world.view(record.trackingId);
    expect(view.microsoft).toMatchObject({ decision, respondBy: expect.any(String) });
    if (decision === 'Accepted') expect(view.microsoft?.msxId).toMatch(/^7-/);
    if (decision === 'Declined') expect(view.microsoft?.reason).toBe('No seller');
    const events = await world.cloudEvents();
    expect(events.map((e) => e.type)).toEqual([type]);
    expect(events[0]).toMatchObject({ subject: record.trackingId, specversion: '1.0' });
    expect(view.history?.[0]).toMatchObject({ kind: 'microsoft', source: 'event', to: decision });
  });

  it('publishes one message when the same change is delivered twice, out of order, at once', async () => {
    const record = await world.coSellDeal('sync-dup');
    await world.deliver();
    await decide(record.partnerReferralId!, 'Accepted');
    const messages = await world.newMessages();
    const storm = [...messages, ...messages].reverse();
    const outcomes = await Promise.allSettled(storm.map((m) => world.sync.handle(m)));
    // A consumer that lost the race to the record's ETag re-plans and finds nothing new; a retry would too.
    for (const [index, outcome] of outcomes.entries())
      if (outcome.status === 'rejected') await world.sync.handle(storm[index]);
    expect((await world.cloudEvents()).map((e) => e.type)).toEqual(['referral.microsoft.accepted']);
    await world.reconciler('a').run();
    expect(await world.cloudEvents()).toHaveLength(1);
  });
});

describe('referrals the bridge did not create', () => {
  it('gives an inbound lead one record and one referral.inbound.received; a second delivery adds nothing', async () => {
    const lead = {
      name: 'Lead from Microsoft',
      type: 'Shared',
      customerProfile: { name: 'Contoso', address: { city: 'Redmond', country: 'US' }, team: [] },
      consent: { consentToContact: true, consentToShareReferralWithMicrosoftSellers: true },
      details: { dealValue: 50_000, currency: 'USD' },
    };
    const response = await fetch(`${partnerCenter.url}/_sandbox/inbound-referrals`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(lead),
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as { id: string };
    const messages = await world.newMessages();
    for (const message of [...messages, ...messages]) await world.sync.handle(message);
    const trackingId = inboundTrackingId(created.id);
    const view = await world.view(trackingId);
    expect(view).toMatchObject({
      state: 'Inbound',
      final: true,
      direction: 'inbound',
      partnerReferral: { id: created.id },
    });
    const events = await world.cloudEvents();
    expect(events.map((e) => e.type)).toEqual(['referral.inbound.received']);
    expect(events[0].data).toMatchObject({ lead: { referralId: created.id, direction: 'Incoming' } });
    expect((await world.store.read(trackingId))?.request).toBeUndefined();
  });

  it('publishes referral.status.changed when a person changes the status in the Partner Center UI', async () => {
    const record = await world.coSellDeal('sync-edit');
    await world.deliver();
    const response = await fetch(`${partnerCenter.url}/_sandbox/referrals/${record.partnerReferralId}/edit`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([
        { op: 'replace', path: '/status', value: 'Active' },
        { op: 'replace', path: '/substatus', value: 'Accepted' },
      ]),
    });
    expect(response.status).toBe(200);
    await world.deliver();
    const events = await world.cloudEvents();
    expect(events.map((e) => e.type)).toEqual(['referral.status.changed']);
    expect((await world.view(record.trackingId)).partnerReferral).toMatchObject({
      status: 'Active',
      substatus: 'Accepted',
    });
  });
});

describe('reconciliation', () => {
  it('repairs everything when every event was lost, with no duplicate message on the next run', async () => {
    partnerCenter.setFaults({ events: { drop: 1 } });
    const accepted = await world.coSellDeal('sync-rec-1');
    const declined = await world.coSellDeal('sync-rec-2');
    await decide(accepted.partnerReferralId!, 'Accepted');
    await decide(declined.partnerReferralId!, 'Declined');
    expect(await world.newMessages()).toEqual([]);
    const report = await world.reconciler('a').run();
    expect(report).toMatchObject({ kind: 'done', applied: 2, complete: true });
    expect((await world.view(accepted.trackingId)).microsoft?.decision).toBe('Accepted');
    expect((await world.view(declined.trackingId)).microsoft?.decision).toBe('Declined');
    const types = (await world.cloudEvents()).map((e) => e.type).sort();
    expect(types).toEqual(['referral.microsoft.accepted', 'referral.microsoft.declined']);
    expect(await world.reconciler('b').run()).toMatchObject({ kind: 'done', applied: 0 });
    expect(await world.cloudEvents()).toHaveLength(2);
  });

  it('publishes a UI status change it only sees through reconciliation (every event lost, the create one too)', async () => {
    partnerCenter.setFaults({ events: { drop: 1 } });
    const record = await world.coSellDeal('sync-rec-edit');
    const response = await fetch(`${partnerCenter.url}/_sandbox/referrals/${record.partnerReferralId}/edit`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([
        { op: 'replace', path: '/status', value: 'Active' },
        { op: 'replace', path: '/substatus', value: 'Accepted' },
        { op: 'add', path: '/details/dealValue', value: 123_456 },
      ]),
    });
    expect(response.status).toBe(200);
    expect(await world.newMessages()).toEqual([]);
    await world.reconciler('a').run();
    const types = (await world.cloudEvents()).map((e) => e.type).sort();
    expect(types).toEqual(['referral.deal.changed', 'referral.status.changed']);
    expect((await world.view(record.trackingId)).history?.find((h) => h.kind === 'status')).toMatchObject({
      source: 'reconcile',
      kind: 'status',
      from: 'New/Pending',
      to: 'Active/Accepted',
    });
  });

  it('lets one of two reconcilers at once advance the watermark', async () => {
    await world.coSellDeal('sync-rec-lease');
    const reports = await Promise.all([world.reconciler('a').run(), world.reconciler('b').run()]);
    expect(reports.map((r) => r.kind).sort()).toEqual(['done', 'skipped']);
    const row = await new TableWatermarkRows(world.table).read();
    expect(row?.state.watermark).toEqual(expect.any(String));
  });
});

describe('the race with our own create', () => {
  it('defers an event that arrives before our create recorded the id, and never makes it inbound', async () => {
    let early: Promise<unknown> | undefined;
    const racing: ReferralsApi = {
      listReferrals: (query, options) => world.client.listReferrals(query, options),
      async createReferral(body, options) {
        const created = await world.client.createReferral(body, options);
        // Partner Center's event is handled before our step records (or even indexes) the new id.
        early = world.newMessages().then(async (messages) => {
          const outcomes = await Promise.allSettled(messages.map((m) => world.sync.handle(m)));
          return outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.value));
        });
        await early;
        return created;
      },
    };
    const outcome = await world.workflow(racing).submit({
      body: uniqueDeal(example('partner-led-deal.json'), 'sync-race'),
      source: 'http',
      timeBudgetMs: 10_000,
    });
    if (outcome.kind !== 'tracked') throw new Error(outcome.kind);
    const earlyOutcomes = (await early) as unknown[];
    expect(earlyOutcomes).toEqual([expect.any(SyncDeferredError)]);
    expect(await world.store.read(inboundTrackingId(outcome.record.partnerReferralId!))).toBeUndefined();
    await world.reconciler('a').run();
    expect(await world.store.read(inboundTrackingId(outcome.record.partnerReferralId!))).toBeUndefined();
    expect((await world.view(outcome.record.trackingId)).partnerReferral?.status).toBe('New');
    expect(await world.cloudEvents()).toEqual([]);
  });
});
