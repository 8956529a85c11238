import { Disposable, FunctionsCore } from '../../../sandbox/host/functionsCore';
import { LocalHostError } from '../../../sandbox/host/errors';

const metadata = (name: string) => ({ name, bindings: { t: { type: 'httpTrigger', direction: 'in' as const } } });

describe('the @azure/functions-core stand-in', () => {
  it('serves the worker API surface the library calls', () => {
    const core = new FunctionsCore();
    expect(Object.keys(core.module).sort()).toEqual(
      [
        'Disposable',
        'getProgrammingModel',
        'hostVersion',
        'log',
        'registerFunction',
        'registerHook',
        'setProgrammingModel',
        'version',
      ].sort(),
    );
    const model = { name: '@azure/functions', version: '4', getInvocationModel: () => ({}) as never };
    (core.module.setProgrammingModel as (m: unknown) => void)(model);
    expect((core.module.getProgrammingModel as () => unknown)()).toBe(model);
  });

  it('records registrations with their entry point and raw bindings', () => {
    const core = new FunctionsCore();
    core.currentEntryPoint = 'dist/functions/a.js';
    core.registerFunction(metadata('a'), () => 1);
    const fn = core.functions.get('a')!;
    expect(fn).toMatchObject({ id: 'a', name: 'a', entryPoint: 'dist/functions/a.js' });
    expect(fn.metadata.rawBindings).toEqual([JSON.stringify({ type: 'httpTrigger', direction: 'in', name: 't' })]);
  });

  it('refuses a duplicate id and registrations after start-up, like the worker', () => {
    const core = new FunctionsCore();
    const registration = core.registerFunction(metadata('a'), () => 1);
    expect(() => core.registerFunction(metadata('a'), () => 1)).toThrow(
      'A function with id "a" has already been registered.',
    );
    registration.dispose();
    core.registerFunction(metadata('a'), () => 1);
    core.finishStartup();
    expect(() => core.registerFunction(metadata('b'), () => 1)).toThrow(LocalHostError);
  });

  it('runs hooks in registration order, and disposing one removes it', async () => {
    const core = new FunctionsCore();
    const calls: string[] = [];
    core.registerHook('preInvocation', () => void calls.push('one'));
    const second = core.registerHook('preInvocation', async () => void calls.push('two'));
    await core.executeHooks('preInvocation', { hookData: {}, appHookData: {} });
    second.dispose();
    await core.executeHooks('preInvocation', { hookData: {}, appHookData: {} });
    expect(calls).toEqual(['one', 'two', 'one']);
    expect(core.hasHooks('postInvocation')).toBe(false);
  });

  it('throws a RangeError for an unknown hook name (the library turns it into a clear message)', () => {
    expect(() => new FunctionsCore().registerHook('bogus', () => undefined)).toThrow(RangeError);
  });

  it('lets log hooks rewrite user lines but not system lines, and survives a failing hook', () => {
    const core = new FunctionsCore();
    core.registerHook('log', (context) => {
      const line = context as unknown as { message: string; level: string };
      line.message = `[hooked] ${line.message}`;
      line.level = 'warning';
    });
    expect(core.runLogHooks({ level: 'information', category: 'user', message: 'hi' })).toEqual({
      level: 'warning',
      message: '[hooked] hi',
    });
    expect(core.runLogHooks({ level: 'information', category: 'system', message: 'sys' })).toEqual({
      level: 'information',
      category: 'system',
      message: 'sys',
    });
    core.registerHook('log', () => {
      throw new Error('hook bug');
    });
    expect(core.runLogHooks({ level: 'error', category: 'user', message: 'still logged' }).message).toContain(
      'still logged',
    );
  });

  it('combines disposables', () => {
    const disposed: number[] = [];
    Disposable.from(new Disposable(() => disposed.push(1)), { dispose: () => disposed.push(2) }).dispose();
    expect(disposed).toEqual([1, 2]);
  });
});
