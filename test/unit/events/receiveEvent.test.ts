import { eventBody, signBody, Signer } from '../../../bench/lib/eventPki';
import { RefusalReason } from '../../../shared/events/constants';
import { dedupeKeyOf } from '../../../shared/events/eventMessage';
import { EventEnqueueError } from '../../../shared/events/errors';
import { EventReceiver, type EventQueue } from '../../../shared/events/receiveEvent';
import { useEventFixture } from './helpers';

const fixture = useEventFixture();
const HOUR_MS = 3_600_000;

class MemoryQueue implements EventQueue {
  messages: object[] = [];
  async send(message: object): Promise<void> {
    this.messages.push(message);
  }
}

function receiverWith(queue: EventQueue, maxAgeMs = 24 * HOUR_MS) {
  return new EventReceiver({ verifier: fixture.verifier(), queue, maxAgeMs, nowMs: () => fixture.pki.nowMs });
}

/** A delivery of `body` signed by the Microsoft certificate. */
function signed(body: Buffer, traceparent?: string) {
  const delivery = fixture.delivery({ body });
  return { headers: delivery.headers, body, traceparent };
}

const referralId = 'c2a5a8e8-aa8b-4f64-8a06-55fde09f0ea4';
const at = (offsetMs: number) => new Date(fixture.pki.nowMs + offsetMs).toISOString();

describe('EventReceiver', () => {
  it('puts a verified referral event on referral-sync with its dedupe key', async () => {
    const queue = new MemoryQueue();
    const changedAt = at(-60_000);
    const outcome = await receiverWith(queue).receive(
      signed(eventBody({ eventName: 'referral-updated', referralId, changedAt }), '00-trace-span-01'),
    );
    const expected = {
      eventName: 'referral-updated',
      referralId,
      changedAt: changedAt.replace('.000Z', 'Z').replace(/(\.\d*?)0+Z$/, '$1Z'),
      dedupeKey: expect.stringMatching(/^e[0-9a-f]{32}$/),
      receivedAt: new Date(fixture.pki.nowMs).toISOString(),
      traceparent: '00-trace-span-01',
    };
    expect(outcome).toEqual({ kind: 'enqueued', message: expected });
    expect(queue.messages).toEqual([expected]);
  });

  it('gives a redelivery of one event the same dedupe key (the consumer drops the second)', async () => {
    const queue = new MemoryQueue();
    const receiver = receiverWith(queue);
    const body = eventBody({ referralId, changedAt: at(-1_000) });
    await receiver.receive(signed(body));
    await receiver.receive(signed(body));
    const [first, second] = queue.messages as Array<{ dedupeKey: string; changedAt: string }>;
    expect(second.dedupeKey).toBe(first.dedupeKey);
    expect(first.dedupeKey).toBe(dedupeKeyOf('referral-updated', referralId, first.changedAt));
  });

  it('answers test-created without enqueuing it', async () => {
    const queue = new MemoryQueue();
    const outcome = await receiverWith(queue).receive(signed(eventBody({ eventName: 'test-created' })));
    expect(outcome).toEqual({ kind: 'ignored', eventName: 'test-created', why: 'test-event' });
    expect(queue.messages).toEqual([]);
  });

  it('records and ignores an unknown event name, without enqueuing it', async () => {
    const queue = new MemoryQueue();
    const outcome = await receiverWith(queue).receive(signed(eventBody({ eventName: 'referral-archived' })));
    expect(outcome).toEqual({ kind: 'ignored', eventName: 'referral-archived', why: 'unknown-event' });
    expect(queue.messages).toEqual([]);
  });

  it('refuses a replay of an event older than the replay window, and one from the future', async () => {
    const queue = new MemoryQueue();
    const receiver = receiverWith(queue, 2 * HOUR_MS);
    const old = await receiver.receive(signed(eventBody({ changedAt: at(-2 * HOUR_MS - 1) })));
    const future = await receiver.receive(signed(eventBody({ changedAt: at(16 * 60_000) })));
    const edge = await receiver.receive(signed(eventBody({ changedAt: at(-2 * HOUR_MS) })));
    expect(old).toEqual({ kind: 'refused', reason: RefusalReason.EventTooOld });
    expect(future).toEqual({ kind: 'refused', reason: RefusalReason.EventFromTheFuture });
    expect(edge.kind).toBe('enqueued');
    expect(queue.messages).toHaveLength(1);
  });

  it('answers a signed body that is not an event as invalid, and stores nothing', async () => {
    const queue = new MemoryQueue();
    const outcome = await receiverWith(queue).receive(signed(Buffer.from('{"EventName":"referral-created"}')));
    expect(outcome).toEqual({ kind: 'invalid', problem: expect.any(String) });
    expect(queue.messages).toEqual([]);
  });

  it('never parses a body whose signature fails (even valid JSON of a real event)', async () => {
    const queue = new MemoryQueue();
    const genuine = eventBody({ referralId, changedAt: at(0) });
    const delivery = signed(genuine);
    const tampered = Buffer.from(genuine.toString().replace(referralId, referralId.replace('c2', 'd3')));
    const outcome = await receiverWith(queue).receive({ ...delivery, body: tampered });
    expect(outcome).toEqual({ kind: 'refused', reason: RefusalReason.SignatureInvalid });
    expect(queue.messages).toEqual([]);
  });

  it('throws a retryable EventEnqueueError when the queue fails', async () => {
    const failing: EventQueue = { send: () => Promise.reject(new Error('storage down')) };
    const error = await receiverWith(failing)
      .receive(signed(eventBody({ changedAt: at(0) })))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventEnqueueError);
    expect(error).toMatchObject({ retryable: true });
  });

  it('refuses an expired certificate before reading the body', async () => {
    const queue = new MemoryQueue();
    const body = eventBody({ changedAt: at(0) });
    const { headers } = fixture.delivery({ signer: Signer.Expired, body });
    const outcome = await receiverWith(queue).receive({ headers, body });
    expect(outcome).toEqual({ kind: 'refused', reason: RefusalReason.CertificateExpired });
    expect(signBody(body, fixture.pki.signers.expired.keyPem)).toBe(headers.get('authorization')?.slice(10));
    expect(queue.messages).toEqual([]);
  });
});
