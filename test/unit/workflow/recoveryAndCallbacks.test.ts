/**
 * The sweeper's recovery operations on the in-memory store, callbacks with absolute links (delivered by
 * the real notifier to a loopback server), and the submission problems that name where the fault is.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, silentSink } from '../../../shared/platform/logging';
import { CallbackNotifier } from '../../../shared/workflow/callbackNotifier';
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

describe('the sweeper', () => {
  it('re-enqueues stale work on the queue of its step, a step whose holder let its lease expire included', async () => {
    const wf = world.workflow({ linkMode: LinkMode.Queue });
    world.partnerCenter.next('partner', 'unavailable');
    await wf.submit({ body: partnerLed('s-deferred'), source: 'http' });
    const queued = await wf.submit({ body: coSell('s-queued'), source: 'http' });
    const held = gate();
    world.partnerCenter.next('partner', held.fault);
    const running = wf.submit({ body: partnerLed('s-running'), source: 'http' });
    await held.entered;
    world.submitQueue.messages.length = 0;
    world.linkQueue.messages.length = 0;
    world.clockMs += 121_000; // everything is stale; the running step's 60 s lease is not renewed...
    const report = await world.sweeper(wf).sweep();
    // ...so all three are pushed forward (a crashed holder's work resumes).
    expect(report.requeued).toBe(3);
    expect(world.linkQueue.ids()).toEqual([queued.kind === 'tracked' ? queued.record.trackingId : '']);
    expect(world.submitQueue.messages).toHaveLength(2);
    held.open();
    await running;
  });

  it('does not re-enqueue a record whose lease is still live', async () => {
    const wf = world.workflow({ leaseDurationMs: 600_000 });
    const held = gate();
    world.partnerCenter.next('partner', held.fault);
    const running = wf.submit({ body: partnerLed('s-live'), source: 'http' });
    await held.entered;
    world.clockMs += 121_000;
    expect((await world.sweeper(wf).sweep()).requeued).toBe(0);
    expect(world.submitQueue.messages).toEqual([]);
    held.open();
    await running;
  });

  it('keeps parked records parked while no token can be had', async () => {
    const wf = world.workflow();
    world.partnerCenter.next('partner', 'reauthorization');
    const { record } = (await wf.submit({ body: partnerLed('s-parked'), source: 'http' })) as { record: any };
    const refusing = { getAccessToken: () => Promise.reject(new Error('still refused')) };
    expect(await world.sweeper(wf, refusing).sweep()).toMatchObject({ resumed: 0, parkedRemaining: 1 });
    expect((await world.stored(record.trackingId)).state).toBe('AwaitingReauthorization');
    const healthy = { getAccessToken: async () => 'token' };
    expect(await world.sweeper(wf, healthy).sweep()).toMatchObject({ resumed: 1, parkedRemaining: 0 });
    expect(await world.stored(record.trackingId)).toMatchObject({ state: 'Received' });
    expect(world.submitQueue.ids()).toEqual([record.trackingId]);
    expect((await wf.advancePartner(record.trackingId)).record.state).toBe('Completed');
  });
});

describe('callbacks', () => {
  let server: http.Server;
  let received: any[];
  let hookUrl: string;
  let answerStatus = 204;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        received.push(JSON.parse(text));
        res.writeHead(answerStatus).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received = [];
    answerStatus = 204;
  });

  const notifier = () =>
    new CallbackNotifier({
      allowPrivateTargets: true,
      logger: createLogger({ sink: silentSink }),
      retry: { maxAttempts: 1 },
    });
  const eventually = async <T>(probe: () => T | undefined): Promise<T> => {
    for (let i = 0; i < 200; i++) {
      const value = probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('timed out');
  };

  it('posts the final view with absolute links built from the request that created the record', async () => {
    const wf = world.workflow({
      callbacks: notifier(),
      statusUrlFor: (id, base) => `${base ?? 'https://configured.example'}/api/referrals/${id}`,
    });
    const body = { ...partnerLed('c-links'), callbackUrl: hookUrl };
    const outcome = await wf.submit({ body, source: 'http', baseUrl: 'https://bridge.example.test' });
    const delivered = await eventually(() => received[0]);
    expect(delivered).toMatchObject({ state: 'Completed', final: true });
    expect(delivered.links.self).toBe(
      `https://bridge.example.test/api/referrals/${outcome.kind === 'tracked' ? outcome.record.trackingId : ''}`,
    );
    await eventually(() => (world.records.all()[0].callbackState === 'delivered' ? true : undefined));
  });

  it('leaves an undelivered callback pending for the sweeper, which delivers it', async () => {
    const wf = world.workflow({ callbacks: notifier() });
    answerStatus = 500;
    await wf.submit({
      body: { ...coSell('c-sweep'), callbackUrl: hookUrl },
      source: 'http',
      baseUrl: 'https://b.test',
    });
    await eventually(() => (world.records.all()[0].callbackState === 'failed' ? true : undefined));
    // A crash before the delivery state was written leaves it pending: simulate that one.
    const [record] = world.records.all();
    await world.records.update(record, { callbackState: 'pending' });
    answerStatus = 204;
    world.clockMs += 121_000;
    expect((await world.sweeper(wf).sweep()).callbacksRetried).toBe(1);
    expect(received.at(-1)).toMatchObject({
      state: 'Linked',
      links: { self: expect.stringMatching(/^https:\/\/b\.test\//) },
    });
    expect(world.records.all()[0].callbackState).toBe('delivered');
  });
});

describe('submission problems', () => {
  it('names the Idempotency-Key header, not the body root, for an unusable header', async () => {
    const outcome = await world
      .workflow()
      .submit({ body: partnerLed('k-bad'), source: 'http', idempotencyKey: 'has space' });
    if (outcome.kind !== 'invalid') throw new Error(outcome.kind);
    expect(outcome.problem.status).toBe(400);
    expect(outcome.problem.detail).toContain('Idempotency-Key header');
    expect(outcome.problem.errors).toEqual([
      expect.objectContaining({ header: 'Idempotency-Key', code: 'invalid_idempotency_key' }),
    ]);
    expect(outcome.problem.errors?.[0]).not.toHaveProperty('pointer');
    expect(world.records.all()).toEqual([]);
  });

  it('points at the envelope field for an unusable queue envelope key', async () => {
    const outcome = await world.workflow().submit({ body: partnerLed('k-bad-q'), source: 'queue', idempotencyKey: '' });
    if (outcome.kind !== 'invalid') throw new Error(outcome.kind);
    expect(outcome.problem.errors).toEqual([expect.objectContaining({ pointer: '/idempotencyKey' })]);
  });
});
