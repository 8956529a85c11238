import { lazy, lazyModule, optionalModule, type ModuleLoader } from '../../../shared/platform/lazy';
import type * as ProblemModule from '../../../shared/referral/problem';

describe('lazy', () => {
  it('runs the loader on the first call only and returns the same value after', () => {
    // Prepare
    let calls = 0;
    const value = lazy(() => ({ call: ++calls }));
    // Act
    const first = value();
    const second = value();
    // Assess
    expect(calls).toBe(1);
    expect(second).toBe(first);
  });

  it('does not run the loader until the getter is called', () => {
    let calls = 0;
    lazy(() => ++calls);
    expect(calls).toBe(0);
  });

  it('keeps a loader that failed for the next call instead of remembering the failure', () => {
    let calls = 0;
    const value = lazy(() => {
      calls++;
      if (calls === 1) throw new Error('not yet');
      return 'loaded';
    });
    expect(() => value()).toThrow('not yet');
    expect(value()).toBe('loaded');
    expect(calls).toBe(2);
  });

  it('memoises a value that is undefined as well', () => {
    let calls = 0;
    const value = lazy(() => {
      calls++;
      return undefined;
    });
    value();
    value();
    expect(calls).toBe(1);
  });
});

/** This file's own require, as a caller passes it. */
const callerRequire: ModuleLoader = require;

describe('lazyModule', () => {
  it("resolves the id from the caller's file through the caller's require, once", () => {
    const requested: string[] = [];
    const load = (id: string): unknown => {
      requested.push(id);
      return callerRequire(id);
    };
    const problems = lazyModule<typeof ProblemModule>(load, '../../../shared/referral/problem');
    expect(requested).toEqual([]);
    expect(problems().problem(400, 'x', 'X').status).toBe(400);
    expect(problems()).toBe(problems());
    expect(requested).toEqual(['../../../shared/referral/problem']);
  });
});

describe('optionalModule', () => {
  it('answers undefined for a module that is not installed, and asks only once', () => {
    let calls = 0;
    const core = optionalModule<object>((id) => {
      calls++;
      return callerRequire(id);
    }, '@azure/functions-core');
    expect(core()).toBeUndefined();
    expect(core()).toBeUndefined();
    expect(calls).toBe(1);
  });

  it('rethrows a failure that is not a missing module (a module that throws while loading)', () => {
    const broken = optionalModule<object>(() => {
      throw new TypeError('boom while loading');
    }, 'anything');
    expect(() => broken()).toThrow('boom while loading');
  });
});
