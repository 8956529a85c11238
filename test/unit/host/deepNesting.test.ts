/**
 * A queue message nested thousands of levels deep, through the real `@azure/functions` invocation model
 * as the local host (and the worker) runs it: the library overflows the stack converting the trigger
 * metadata unless the edge's guard wraps the programming model.
 */
import fc from 'fast-check';
import { app, type InvocationContext } from '@azure/functions';
import { FunctionsCore } from '../../../sandbox/host/functionsCore';
import { HostLog } from '../../../sandbox/host/hostLog';
import { invokeFunction } from '../../../sandbox/host/invokeFunction';
import { queueTriggerMetadata, toTriggerData } from '../../../sandbox/host/queueMessages';
import type { ProgrammingModel } from '../../../sandbox/host/coreTypes';
import {
  flattenDeepEntries,
  guardTriggerMetadataNesting,
  TriggerMetadataGuard,
  type FunctionsCoreApi,
} from '../../../functions/edge/triggerMetadataGuard';
import { MAX_JSON_NESTING_DEPTH, textNestsDeeperThan, valueNestsDeeperThan } from '../../../functions/edge/nesting';

// The worker serves `@azure/functions-core` to the library; the local host's stand-in does here.
const mockCore = new FunctionsCore();
jest.mock('@azure/functions-core', () => mockCore.module, { virtual: true });

const seen: Array<{ payload: unknown; queueTrigger: unknown }> = [];
app.storageQueue('deepProbe', {
  queueName: 'deep-probe',
  connection: 'AzureWebJobsStorage',
  handler: (payload: unknown, context: InvocationContext) => {
    seen.push({ payload, queueTrigger: context.triggerMetadata?.queueTrigger });
  },
});
const libraryModel = mockCore.programmingModel!;
const probe = mockCore.functions.get('deepProbe')!;

/** Runs the probe function on `text` as the local host delivers a queue message. */
async function deliver(text: string): Promise<{ payload: unknown; queueTrigger: unknown }> {
  const now = new Date();
  const message = { messageId: 'm1', popReceipt: 'p1', messageText: text, dequeueCount: 1 };
  const dates = { insertedOn: now, expiresOn: now, nextVisibleOn: now };
  seen.length = 0;
  await invokeFunction(
    probe,
    {
      inputData: [{ name: Object.keys(probe.metadata.bindings)[0], data: toTriggerData(text) }],
      triggerMetadata: queueTriggerMetadata({ ...message, ...dates }, text, probe.name),
      reason: 'test',
    },
    { core: mockCore, log: new HostLog({ write: () => undefined, verbose: false }) },
  );
  return seen[0];
}

const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

describe('a queue message nested thousands of levels deep', () => {
  afterEach(() => {
    mockCore.programmingModel = libraryModel;
  });

  it('overflows the stack inside @azure/functions when nothing guards the trigger metadata', async () => {
    await expect(deliver(deepArray(5000))).rejects.toThrow(RangeError);
  });

  it.each([
    { shape: 'array', text: deepArray(5000) },
    { shape: 'object', text: deepObject(3000) },
  ])(
    'reaches the handler once guarded ($shape): the payload parsed, the metadata the text itself',
    async ({ text }) => {
      expect(guardTriggerMetadataNesting({ core: mockCore.module as unknown as FunctionsCoreApi })).toBe(
        TriggerMetadataGuard.Installed,
      );
      const { payload, queueTrigger } = await deliver(text);
      expect(queueTrigger).toBe(text);
      expect(valueNestsDeeperThan(payload, MAX_JSON_NESTING_DEPTH)).toBe(true);
    },
  );

  it('leaves an ordinary message exactly as the library hands it over', async () => {
    const text = JSON.stringify({ Referral: { Name: 'x', Items: [1, { Deep: [[['ok']]] }] } });
    const unguarded = await deliver(text);
    guardTriggerMetadataNesting({ core: mockCore.module as unknown as FunctionsCoreApi });
    expect(await deliver(text)).toEqual(unguarded);
  });

  it('wraps the model once, keeping its name, version and capabilities', async () => {
    const core = mockCore.module as unknown as FunctionsCoreApi;
    expect(guardTriggerMetadataNesting({ core })).toBe(TriggerMetadataGuard.Installed);
    expect(guardTriggerMetadataNesting({ core })).toBe(TriggerMetadataGuard.AlreadyInstalled);
    const guarded = mockCore.programmingModel as ProgrammingModel;
    expect(guarded).not.toBe(libraryModel);
    expect({ name: guarded.name, version: guarded.version }).toEqual({
      name: libraryModel.name,
      version: libraryModel.version,
    });
    expect(await guarded.getCapabilities?.({})).toEqual(await libraryModel.getCapabilities?.({}));
  });

  it("finds the worker's @azure/functions-core by itself", () => {
    expect(guardTriggerMetadataNesting()).toBe(TriggerMetadataGuard.Installed);
    expect(mockCore.programmingModel).not.toBe(libraryModel);
  });

  it('does nothing before a programming model is set', () => {
    const empty = { getProgrammingModel: () => undefined, setProgrammingModel: () => undefined };
    expect(guardTriggerMetadataNesting({ core: empty })).toBe(TriggerMetadataGuard.NoRuntime);
  });
});

/** JSON values nested up to `depth` levels, with strings holding brackets and escapes. */
const nestedJson = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a') }),
    fc.integer(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 3 }),
  ),
}));

describe('measuring nesting without recursion', () => {
  it('the text scan and the value walk agree on every JSON value and limit', () => {
    fc.assert(
      fc.property(nestedJson.value, fc.integer({ min: 0, max: 8 }), (value, maxDepth) => {
        expect(textNestsDeeperThan(JSON.stringify(value), maxDepth)).toBe(valueNestsDeeperThan(value, maxDepth));
      }),
      { numRuns: 500 },
    );
  });

  it('measures 100,000 levels without throwing', () => {
    const text = deepArray(100_000);
    expect(textNestsDeeperThan(text, MAX_JSON_NESTING_DEPTH)).toBe(true);
    expect(valueNestsDeeperThan(JSON.parse(text), MAX_JSON_NESTING_DEPTH)).toBe(true);
  });

  it('counts a bracket inside a string as text, not nesting', () => {
    expect(textNestsDeeperThan(JSON.stringify({ note: '[[[[[[[[' }), 2)).toBe(false);
    expect(textNestsDeeperThan(JSON.stringify({ note: 'say \\"[[[[' }), 2)).toBe(false);
  });

  it('hands the library a deep entry as a string literal that parses back to the text, and keeps the rest', () => {
    fc.assert(
      fc.property(nestedJson.value, fc.integer({ min: 0, max: 6 }), (value, maxDepth) => {
        const text = JSON.stringify(value);
        const metadata = { QueueTrigger: { string: text }, Id: { string: 'm1' } };
        const flattened = flattenDeepEntries(metadata, maxDepth);
        const deep = textNestsDeeperThan(text, maxDepth);
        expect(flattened.Id).toBe(metadata.Id);
        if (deep) expect(JSON.parse(flattened.QueueTrigger!.string!)).toBe(text);
        else expect(flattened).toBe(metadata);
      }),
      { numRuns: 300 },
    );
  });
});
