import { planFunction, resolveSettingExpression } from '../../../sandbox/host/functionBindings';
import type { RegisteredFunction } from '../../../sandbox/host/functionsCore';
import type { RpcBindingInfo } from '../../../sandbox/host/coreTypes';

/** Metadata shaped like what @azure/functions registers (toCoreFunctionMetadata). */
const registered = (
  name: string,
  bindings: Record<string, RpcBindingInfo>,
  retryOptions?: unknown,
): RegisteredFunction => ({
  id: name,
  name,
  metadata: { name, functionId: name, bindings, ...(retryOptions ? { retryOptions } : {}) },
  callback: () => undefined,
  entryPoint: 'x.js',
});

describe('function bindings', () => {
  it('plans an HTTP function: its route, methods and auth level', () => {
    const plan = planFunction(
      registered('getReferral', {
        httpTrigger1a2b: {
          type: 'httpTrigger',
          direction: 'in',
          route: 'referrals/{trackingId}',
          methods: ['get'],
          authLevel: 'function',
        },
        $return: { type: 'http', direction: 'out' },
      }),
      {},
    );
    expect(plan).toMatchObject({
      kind: 'http',
      triggerName: 'httpTrigger1a2b',
      http: { route: 'referrals/{trackingId}', methods: ['GET'], authLevel: 'function' },
      queueOutputs: [],
      ignored: [],
    });
  });

  it('routes an HTTP function without a route by its name', () => {
    const plan = planFunction(
      registered('health', {
        t: { type: 'httpTrigger', direction: 'in', methods: ['GET'] },
        $return: { type: 'http', direction: 'out' },
      }),
      {},
    );
    expect(plan.http?.route).toBe('health');
  });

  it('plans a queue function with its queue outputs, names lower-cased and %settings% resolved', () => {
    const plan = planFunction(
      registered('intake', {
        queueTrigger1: {
          type: 'queueTrigger',
          direction: 'in',
          queueName: '%INTAKE%',
          connection: 'AzureWebJobsStorage',
        },
        queueOut: { type: 'queue', direction: 'out', queueName: 'Referral-Link' },
        $return: { type: 'queue', direction: 'out', queueName: 'results' },
        blobIn: { type: 'blob', direction: 'in', path: 'x/y' },
      }),
      { INTAKE: 'referral-intake' },
    );
    expect(plan.kind).toBe('queue');
    expect(plan.queue).toEqual({ queueName: 'referral-intake', connection: 'AzureWebJobsStorage' });
    expect(plan.queueOutputs).toEqual([
      { bindingName: 'queueOut', queueName: 'referral-link', connection: undefined },
      { bindingName: '$return', queueName: 'results', connection: undefined },
    ]);
    expect(plan.ignored).toEqual(['in binding blob "blobIn"']);
  });

  it('plans a timer function', () => {
    const plan = planFunction(
      registered('sweeper', {
        timer1: { type: 'timerTrigger', direction: 'in', schedule: '0 */1 * * * *', runOnStartup: true },
      }),
      {},
    );
    expect(plan).toMatchObject({ kind: 'timer', timer: { schedule: '0 */1 * * * *', runOnStartup: true } });
  });

  it('marks other triggers as unsupported instead of failing', () => {
    const plan = planFunction(registered('bus', { t: { type: 'serviceBusTrigger', direction: 'in' } }), {});
    expect(plan.kind).toBe('unsupported');
    expect(plan.ignored).toEqual(['trigger serviceBusTrigger']);
  });

  it.each([
    ['an invalid queue name', { t: { type: 'queueTrigger', direction: 'in', queueName: 'no_underscores' } }],
    ['a missing %setting%', { t: { type: 'queueTrigger', direction: 'in', queueName: '%MISSING%' } }],
    ['no trigger', { o: { type: 'queue', direction: 'out', queueName: 'abc' } }],
  ])('refuses %s', (_name, bindings) => {
    expect(() => planFunction(registered('f', bindings as Record<string, RpcBindingInfo>), {})).toThrow(
      expect.objectContaining({ code: 'binding' }),
    );
  });

  it('resolves several %settings% in one value', () => {
    expect(resolveSettingExpression('%A%-%B%', { A: 'x', B: 'y' }, 'f')).toBe('x-y');
  });
});
