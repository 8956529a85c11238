/**
 * Lazy loading, in one place: a module that a cold start does not need is required on first use,
 * through a memoised getter (the pattern of `@azure/functions`' `tryGetCoreApiLazy`).
 *
 * In shared/ (compiled by tsc, file for file):
 *
 * ```ts
 * import type * as TrackingStoreModule from '../tracking/trackingStore';
 * import { lazyModule } from '../platform/lazy';
 *
 * // Loaded on the first call, not at cold start (bench:coldstart).
 * const trackingStore = lazyModule<typeof TrackingStoreModule>(require, '../tracking/trackingStore');
 * ```
 *
 * The caller passes its own `require`, so `id` resolves from the caller's file exactly as a `require`
 * written there would (and Jest's module registry still serves it in tests). The type comes from an
 * `import type`, which the compiler erases: nothing is loaded until the getter is first called.
 *
 * In functions/ (bundled into dist/bundle/functions.js by scripts/build-functions.ts), name the module
 * literally, so esbuild sees the require and points it at the built file; `lazyModule(require, '../x')`
 * would resolve from dist/bundle, and the build refuses it:
 *
 * ```ts
 * // eslint-disable-next-line @typescript-eslint/no-require-imports -- a literal id, kept by the bundle
 * const trackingView = lazy(() => require('../../shared/workflow/trackingView') as typeof TrackingViewModule);
 * ```
 *
 * No dependency and no state (the bundle carries its own copy: scripts/build-functions.ts
 * `INLINED_SHARED_MODULES`): shared/app, shared/platform and functions/ can all use it.
 */

/** A function that loads a module by id (the caller's own `require`, or a test's fake). */
export type ModuleLoader = (id: string) => unknown;

/** A memoised getter: `load` runs on the first call only; later calls return the same value. */
export function lazy<T>(load: () => T): () => T {
  let loaded = false;
  let value: T;
  return () => {
    if (!loaded) {
      value = load();
      loaded = true;
    }
    return value;
  };
}

/**
 * The module `id` (resolved by `loader`, normally the caller's `require`), loaded on the first call of
 * the returned getter. A failure to load is thrown by that call and retried by the next one.
 */
export function lazyModule<T>(loader: ModuleLoader, id: string): () => T {
  return lazy(() => loader(id) as T);
}

/**
 * Like {@link lazyModule}, for a module that may be absent (`@azure/functions-core` exists only inside a
 * Functions worker): `undefined` when it cannot be found, memoised like a found one.
 */
export function optionalModule<T>(loader: ModuleLoader, id: string): () => T | undefined {
  return lazy(() => {
    try {
      return loader(id) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException | undefined)?.code === 'MODULE_NOT_FOUND') return undefined;
      throw error;
    }
  });
}
