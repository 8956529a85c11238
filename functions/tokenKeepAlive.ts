import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getAppServices } from './edge/services';
import { timerSchedule } from '../shared/platform/schedules';

/**
 * Daily timer: asks the token broker for a token, so the refresh token is redeemed (and rotated) at
 * least once a day even when no referral comes in. A refresh token unused for 90 days expires and would
 * need a new interactive sign-in (docs/auth.md).
 */
export async function tokenKeepAlive(_timer: Timer, context: InvocationContext): Promise<void> {
  const { tokenBroker } = getAppServices();
  try {
    await tokenBroker.getAccessToken();
  } catch (error) {
    context.warn(
      `Token keep-alive failed: ${error instanceof Error ? error.name : 'Error'}; health shows the broker state`,
    );
  }
}

app.timer('tokenKeepAlive', {
  // TOKEN_KEEPALIVE_SCHEDULE (default 03:17 daily), read without loading zod.
  schedule: timerSchedule('TOKEN_KEEPALIVE_SCHEDULE'),
  runOnStartup: false,
  handler: tokenKeepAlive,
});
