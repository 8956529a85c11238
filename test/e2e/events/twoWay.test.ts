/**
 * Issue 13's "Done when", end to end through the local host: the simulator plays Microsoft, a sender of
 * an inbound lead and a person in the Partner Center UI; its signed deliveries reach the app's events
 * edge, the `referral-sync` consumer applies the change, and exactly one CloudEvent per change lands on
 * `referral-events`. With every delivery lost the reconciliation timer (every 15 s in the sandbox) brings
 * each change anyway; with duplicated and reordered deliveries there is still one message per change.
 *
 * `referral-events` is drained by one reader for the whole file (receive + delete), so each test counts
 * the messages of its own trackingId. "No second message" is checked after the deliveries settled, the
 * sync queue is empty and one more reconciliation pass has run: the points at which a duplicate would
 * have been published.
 */
import nodeFetch from 'node-fetch';
import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import type { RunningSandbox } from '../../../sandbox/sandbox';
import { SYNC_QUEUE_NAME } from '../../../shared/events/constants';
import { WATERMARK_KEYS } from '../../../shared/sync/constants';
import { inboundTrackingId } from '../../../shared/sync/inboundRecord';
import type { CloudEventEnvelope } from '../../../shared/tracking/trackingRecord';
import { call, eventually, startTestSandbox } from '../../helpers/sandboxHarness';
import { example, uniqueDeal } from '../../helpers/examples';

const EVENTS_QUEUE_NAME = 'referral-events';
/** Reconciliation runs every 15 s in the sandbox: a change repaired by it needs a few runs at most. */
const RECONCILED_WITHIN_MS = 75_000;

let sandbox: RunningSandbox;
const received: CloudEventEnvelope[] = [];
let reading = true;
let reader: Promise<void> | undefined;

/** Drains referral-events into `received` until the suite ends. */
async function readEvents(queue: QueueClient): Promise<void> {
  while (reading) {
    try {
      if (!(await queue.exists())) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const batch = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 30 });
      for (const message of batch.receivedMessageItems) {
        received.push(JSON.parse(message.messageText) as CloudEventEnvelope);
        await queue.deleteMessage(message.messageId, message.popReceipt);
      }
      if (batch.receivedMessageItems.length === 0) await new Promise((r) => setTimeout(r, 100));
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

beforeAll(async () => {
  sandbox = await startTestSandbox();
  reader = readEvents(new QueueClient(sandbox.azurite.connectionString, EVENTS_QUEUE_NAME));
}, 120_000);
afterAll(async () => {
  reading = false;
  await reader;
  await sandbox?.stop();
});
afterEach(() => sandbox.partnerCenter.clearFaults());

/** The CloudEvents received so far for one trackingId. */
function eventsOf(trackingId: string): CloudEventEnvelope[] {
  return received.filter((e) => e.subject === trackingId);
}

/** Waits until `trackingId` has a CloudEvent of `type`; returns that one. */
async function eventOf(trackingId: string, type: string, timeoutMs = 30_000): Promise<CloudEventEnvelope> {
  try {
    return await eventually(async () => eventsOf(trackingId).find((e) => e.type === type), timeoutMs);
  } catch (error) {
    const seen = eventsOf(trackingId).map((e) => e.type);
    throw new Error(`No ${type} for ${trackingId} (received: ${JSON.stringify(seen)})`, { cause: error });
  }
}

/** The reconciliation watermark row: its ETag and whether a run holds its lease. */
async function watermarkRow(): Promise<{ etag: string; leased: boolean } | undefined> {
  const table = TableClient.fromConnectionString(sandbox.azurite.connectionString, 'referrals', {
    allowInsecureConnection: true,
  });
  try {
    const row = await table.getEntity<{ leaseOwner?: string }>(WATERMARK_KEYS.partitionKey, WATERMARK_KEYS.rowKey);
    return { etag: row.etag, leased: typeof row.leaseOwner === 'string' && row.leaseOwner !== '' };
  } catch {
    return undefined;
  }
}

/**
 * Waits until a reconciliation pass that started after this call has finished: each finished pass leaves
 * the watermark row released under a new ETag. When a pass holds the lease now, it may have listed before
 * this call, so the next one is awaited too.
 */
async function reconciliationPass(): Promise<void> {
  const start = await watermarkRow();
  let releasesNeeded = start?.leased ? 2 : 1;
  let lastEtag = start?.etag;
  await eventually(
    async () => {
      const row = await watermarkRow();
      if (row && !row.leased && row.etag !== lastEtag) {
        lastEtag = row.etag;
        releasesNeeded -= 1;
      }
      return releasesNeeded <= 0 ? true : undefined;
    },
    50_000,
    50,
  );
}

/**
 * Waits until nothing more can be published for what happened so far: the simulator's deliveries are
 * settled, referral-sync is empty, and one more reconciliation pass ran after that.
 */
async function quiesce(): Promise<void> {
  await sandbox.partnerCenter.eventsSettled();
  const syncQueue = new QueueClient(sandbox.azurite.connectionString, SYNC_QUEUE_NAME);
  await eventually(async () => {
    const properties = await syncQueue.getProperties();
    return properties.approximateMessagesCount === 0 ? true : undefined;
  }, 30_000);
  await reconciliationPass();
  // A message the last pass published is read within the reader's next poll.
  await new Promise((r) => setTimeout(r, 500));
}

/** A CoSell deal created through the app. */
async function coSellDeal(tag: string): Promise<{ trackingId: string; partnerReferralId: string }> {
  const created = await call(sandbox, 'POST', '/referrals', uniqueDeal(example('cosell-deal.json'), tag), {
    'Idempotency-Key': `two-way-${tag}`,
  });
  expect(created.status).toBe(201);
  expect(created.body.state).toBe('Linked');
  return {
    trackingId: created.body.trackingId as string,
    partnerReferralId: created.body.partnerReferral.id as string,
  };
}

/** Microsoft's seller answers in Partner Center. */
async function decide(referralId: string, decision: 'Accepted' | 'Declined' | 'Expired', extra: object = {}) {
  const response = await nodeFetch(`${sandbox.partnerCenter.url}/_sandbox/referrals/${referralId}/microsoft-decision`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ decision, ...extra }),
  });
  expect(response.status).toBe(200);
}

/** A person's edit in the Partner Center UI (JSON Patch). */
async function editInPartnerCenter(referralId: string, operations: object[]): Promise<void> {
  const response = await nodeFetch(`${sandbox.partnerCenter.url}/_sandbox/referrals/${referralId}/edit`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(operations),
  });
  if (response.status !== 200) throw new Error(`edit answered ${response.status}: ${await response.text()}`);
}

const ACTIVE: object[] = [
  { op: 'replace', path: '/status', value: 'Active' },
  { op: 'replace', path: '/substatus', value: 'Accepted' },
];

/** An inbound lead sent to the partner (Microsoft invites). */
async function inboundLead(tag: string): Promise<string> {
  const response = await nodeFetch(`${sandbox.partnerCenter.url}/_sandbox/inbound-referrals`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name: `Lead from Microsoft ${tag}`,
      type: 'Shared',
      customerProfile: { name: 'Contoso', address: { city: 'Redmond', country: 'US' }, team: [] },
      consent: { consentToContact: true, consentToShareReferralWithMicrosoftSellers: true },
      details: { dealValue: 50_000, currency: 'USD' },
    }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe("Microsoft's answer to a co-sell deal", () => {
  it.each([
    ['Accepted', 'referral.microsoft.accepted'],
    ['Declined', 'referral.microsoft.declined'],
    ['Expired', 'referral.microsoft.expired'],
  ] as const)(
    '%s: the tracking view shows it and one %s is on referral-events',
    async (decision, type) => {
      const deal = await coSellDeal(`two-way-${decision}`);
      // Microsoft answers later: the create's own events (referral-created, related-referral-created) are
      // applied first, so the record knows the Microsoft referral as Pending.
      await eventually(async () => {
        const answer = await call(sandbox, 'GET', `/referrals/${deal.trackingId}`);
        return answer.body?.microsoft?.decision === 'Pending' ? true : undefined;
      });
      // Answer just after a reconciliation pass (every 15 s here): the signed event then has the better part
      // of 15 s to be applied first, so `source: 'event'` below proves the event path, not a race with the timer.
      await reconciliationPass();
      await decide(deal.partnerReferralId, decision, decision === 'Declined' ? { reason: 'No seller' } : {});
      const view = await eventually(async () => {
        const answer = await call(sandbox, 'GET', `/referrals/${deal.trackingId}`);
        return answer.body?.microsoft?.decision === decision ? answer.body : undefined;
      });
      expect(view.microsoft).toMatchObject({ decision, respondBy: expect.any(String) });
      if (decision === 'Accepted') expect(view.microsoft.msxId).toMatch(/^7-/);
      if (decision === 'Declined') expect(view.microsoft.reason).toBe('No seller');
      expect(view.history[0]).toMatchObject({ kind: 'microsoft', source: 'event', from: 'Pending', to: decision });

      const message = await eventOf(deal.trackingId, type);
      expect(message).toMatchObject({
        specversion: '1.0',
        subject: deal.trackingId,
        data: { microsoft: { decision } },
      });
      if (decision === 'Accepted') expect(message.data).toMatchObject({ microsoft: { msxId: view.microsoft.msxId } });
      await quiesce();
      expect(eventsOf(deal.trackingId).map((e) => e.type)).toEqual([type]);
    },
    90_000,
  );
});

describe('an inbound lead', () => {
  it('becomes an inbound record and one referral.inbound.received', async () => {
    const referralId = await inboundLead('e2e');
    const trackingId = inboundTrackingId(referralId);
    const message = await eventOf(trackingId, 'referral.inbound.received');
    expect(message.data).toMatchObject({ lead: { referralId, direction: 'Incoming' } });
    const view = await call(sandbox, 'GET', `/referrals/${trackingId}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      state: 'Inbound',
      final: true,
      direction: 'inbound',
      partnerReferral: { id: referralId },
    });
    await quiesce();
    expect(eventsOf(trackingId).map((e) => e.type)).toEqual(['referral.inbound.received']);
  }, 90_000);
});

describe('a UI edit in Partner Center', () => {
  it('becomes one referral.status.changed when the status moved, and none when it did not', async () => {
    const deal = await coSellDeal('two-way-edit');
    await editInPartnerCenter(deal.partnerReferralId, [{ op: 'add', path: '/details/notes', value: 'notes only' }]);
    await quiesce();
    expect(eventsOf(deal.trackingId).filter((e) => e.type === 'referral.status.changed')).toEqual([]);

    await editInPartnerCenter(deal.partnerReferralId, ACTIVE);
    const message = await eventOf(deal.trackingId, 'referral.status.changed');
    expect(message.data).toMatchObject({ partnerReferral: { status: 'Active', substatus: 'Accepted' } });
    await quiesce();
    expect(eventsOf(deal.trackingId).map((e) => e.type)).toEqual(['referral.status.changed']);
  }, 120_000);
});

describe('faults of the deliveries', () => {
  it('with events.drop 1, every change still arrives, through reconciliation', async () => {
    const before = sandbox.partnerCenter.deliveries().length;
    sandbox.partnerCenter.setFaults({ events: { drop: 1 } });
    const accepted = await coSellDeal('two-way-drop-accepted');
    const declined = await coSellDeal('two-way-drop-declined');
    const edited = await coSellDeal('two-way-drop-edited');
    await decide(accepted.partnerReferralId, 'Accepted');
    await decide(declined.partnerReferralId, 'Declined');
    await editInPartnerCenter(edited.partnerReferralId, ACTIVE);
    const leadId = await inboundLead('drop');

    const expected: [string, string][] = [
      [accepted.trackingId, 'referral.microsoft.accepted'],
      [declined.trackingId, 'referral.microsoft.declined'],
      [edited.trackingId, 'referral.status.changed'],
      [inboundTrackingId(leadId), 'referral.inbound.received'],
    ];
    for (const [trackingId, type] of expected) await eventOf(trackingId, type, RECONCILED_WITHIN_MS);
    const view = await call(sandbox, 'GET', `/referrals/${accepted.trackingId}`);
    expect(view.body.history[0]).toMatchObject({ kind: 'microsoft', source: 'reconcile', to: 'Accepted' });
    const deliveries = sandbox.partnerCenter.deliveries().slice(before);
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries.filter((d) => d.status !== 'lost')).toEqual([]);

    sandbox.partnerCenter.clearFaults();
    await quiesce();
    for (const [trackingId, type] of expected) expect(eventsOf(trackingId).map((e) => e.type)).toEqual([type]);
  }, 180_000);

  it('with duplicate and reorder, still exactly one message per change', async () => {
    const before = sandbox.partnerCenter.deliveries().length;
    sandbox.partnerCenter.setFaults({ events: { duplicate: 1, reorder: true } });
    const accepted = await coSellDeal('two-way-dup-accepted');
    const expired = await coSellDeal('two-way-dup-expired');
    const edited = await coSellDeal('two-way-dup-edited');
    await decide(accepted.partnerReferralId, 'Accepted');
    await decide(expired.partnerReferralId, 'Expired');
    await editInPartnerCenter(edited.partnerReferralId, [{ op: 'replace', path: '/substatus', value: 'Received' }]);
    await editInPartnerCenter(edited.partnerReferralId, ACTIVE);
    const leadId = await inboundLead('dup');

    await eventOf(accepted.trackingId, 'referral.microsoft.accepted');
    await eventOf(expired.trackingId, 'referral.microsoft.expired');
    await eventOf(inboundTrackingId(leadId), 'referral.inbound.received');
    await eventually(async () =>
      eventsOf(edited.trackingId).some(
        (e) => (e.data as { partnerReferral?: { status?: string } }).partnerReferral?.status === 'Active',
      )
        ? true
        : undefined,
    );
    const deliveries = sandbox.partnerCenter.deliveries().slice(before);
    expect(deliveries.filter((d) => d.duplicate).length).toBeGreaterThan(0);

    await quiesce();
    expect(eventsOf(accepted.trackingId).map((e) => e.type)).toEqual(['referral.microsoft.accepted']);
    expect(eventsOf(expired.trackingId).map((e) => e.type)).toEqual(['referral.microsoft.expired']);
    expect(eventsOf(inboundTrackingId(leadId)).map((e) => e.type)).toEqual(['referral.inbound.received']);
    // Two status changes (reordered deliveries may fold them into one apply): never the same id twice,
    // and the last message shows the newest status.
    const statusEvents = eventsOf(edited.trackingId);
    expect(statusEvents.length).toBeGreaterThanOrEqual(1);
    expect(statusEvents.length).toBeLessThanOrEqual(2);
    expect(statusEvents.every((e) => e.type === 'referral.status.changed')).toBe(true);
    expect(new Set(statusEvents.map((e) => e.id)).size).toBe(statusEvents.length);
    expect(statusEvents.at(-1)!.data).toMatchObject({ partnerReferral: { status: 'Active', substatus: 'Accepted' } });
    const ids = received.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  }, 120_000);
});
