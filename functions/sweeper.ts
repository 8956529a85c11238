import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getAppServices } from '../shared/app/composition';

/** NCRONTAB schedule of the sweeper; SWEEPER_SCHEDULE overrides it (tests run it every few seconds). */
const SCHEDULE = process.env.SWEEPER_SCHEDULE ?? '0 */1 * * * *';

/** Timer: pushes stuck records forward, resumes parked ones, retries callbacks. */
export async function sweeper(_timer: Timer, context: InvocationContext): Promise<void> {
  const report = await getAppServices().sweeper.sweep();
  if (report.requeued || report.resumed || report.callbacksRetried) context.log(`Sweep: ${JSON.stringify(report)}`);
}

app.timer('sweeper', { schedule: SCHEDULE, runOnStartup: false, handler: sweeper });
