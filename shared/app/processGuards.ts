/** Process-wide guards the composition root installs once. */
import type { Logger } from '../platform/logging';

let rejectionGuardInstalled = false;

/**
 * The Azure SDK's Key Vault token cache refreshes in the background and does not catch a failure of
 * that refresh; an unhandled rejection would end the worker process. Log such rejections instead
 * (the next call that needs the token retries, with its own error handling). Installed once per process.
 */
export function guardUnhandledRejections(logger: Logger): void {
  if (rejectionGuardInstalled) return;
  rejectionGuardInstalled = true;
  process.on('unhandledRejection', (reason: unknown) => {
    const error = reason instanceof Error ? reason : new Error(String(reason));
    logger.error('Unhandled promise rejection (logged, not fatal)', {
      error: { name: error.name, message: error.message },
    });
  });
}
