/**
 * A plain-text intake message nested thousands of levels deep (10–30 KB) on the whole sandbox: recorded
 * as Rejected on its first delivery, never retried, never poisoned (docs/local-host.md, "Deeply nested
 * messages"). Without the edge's guard the library overflows the stack on every delivery and the
 * message ends in referral-intake-poison after five attempts.
 */
import { QueueServiceClient } from '@azure/storage-queue';
import { trackingIdForInvalidMessage } from '../../../shared/workflow/idempotency';
import type { RunningSandbox } from '../../../sandbox/sandbox';
import { startTestSandbox, waitForFinal } from '../../helpers/sandboxHarness';

jest.setTimeout(90_000);

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => sandbox?.stop());

const queue = (name: string) =>
  QueueServiceClient.fromConnectionString(sandbox.azurite.connectionString).getQueueClient(name);

describe('an intake message nested thousands of levels deep', () => {
  it.each([
    { shape: 'arrays, 5,000 levels (10 KB)', text: '['.repeat(5000) + ']'.repeat(5000) },
    {
      shape: 'objects, 4,000 levels (24 KB)',
      text: '{"referral":'.repeat(2000) + '{"a":'.repeat(2000) + '1' + '}'.repeat(4000),
    },
    {
      shape: 'arrays as base64 JSON, 15,000 levels (40 KB)',
      text: Buffer.from('['.repeat(15000) + ']'.repeat(15000)).toString('base64'),
    },
  ])('is recorded as Rejected on its first delivery: $shape', async ({ text }) => {
    await queue('referral-intake').createIfNotExists();
    const before = sandbox.partnerCenter.referrals().length;
    await queue('referral-intake').sendMessage(text);
    const view = await waitForFinal(sandbox, trackingIdForInvalidMessage(text));
    expect(view).toMatchObject({
      state: 'Rejected',
      lastError: { step: 'validation', status: 400, message: expect.stringMatching(/nest at most 64 levels/) },
    });
    expect(sandbox.partnerCenter.referrals().length).toBe(before);
    const output = sandbox.host!.output();
    expect(output.filter((line) => line.includes('Maximum call stack size exceeded'))).toEqual([]);
    expect(output.filter((line) => /Retryable failure|MaxDequeueCount/.test(line))).toEqual([]);
    const poison = queue('referral-intake-poison');
    expect(
      await poison.exists().then((e) => (e ? poison.peekMessages().then((p) => p.peekedMessageItems.length) : 0)),
    ).toBe(0);
  });
});
