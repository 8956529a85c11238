import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getAppServices } from './edge/services';
import { timerSchedule } from '../shared/platform/schedules';

/** Timer: pushes stuck records forward, resumes parked ones, retries callbacks. */
export async function sweeper(_timer: Timer, context: InvocationContext): Promise<void> {
  const report = await getAppServices().sweeper.sweep();
  if (report.requeued || report.resumed || report.callbacksRetried) context.log(`Sweep: ${JSON.stringify(report)}`);
}

// SWEEPER_SCHEDULE (default every minute; tests run it every few seconds), read without loading zod.
app.timer('sweeper', { schedule: timerSchedule('SWEEPER_SCHEDULE'), runOnStartup: false, handler: sweeper });
