/**
 * The app's services for the function modules, with shared/app/composition.ts loaded on the first
 * invocation that asks for them, not at cold start (bench:coldstart): registering a function needs only
 * its trigger's options, and the composition module (its getters and what they import) costs ≈ 1.3 ms to
 * load. Same process-wide instance as `getAppServices()` from the composition module itself: this is a
 * literal `require` of the one tsc-built file (scripts/build-functions.ts keeps shared/ out of the bundle).
 */
import { lazy } from '../../shared/platform/lazy';
import type * as CompositionModule from '../../shared/app/composition';
import type { Settings } from '../../shared/platform/config';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a literal id, kept by the bundle (scripts/build-functions.ts)
const composition = lazy(() => require('../../shared/app/composition') as typeof CompositionModule);

/** The process-wide services (shared/app/composition.ts `getAppServices`), built on first call. */
export function getAppServices(): CompositionModule.AppServices {
  return composition().getAppServices();
}

/** The process-wide settings (shared/app/composition.ts `getSettings`), parsed on first call. */
export function getSettings(): Settings {
  return composition().getSettings();
}
