import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getAppServices } from './edge/services';
import { timerSchedule } from '../shared/platform/schedules';

/** NCRONTAB schedule of the retention timer; RETENTION_SCHEDULE overrides it (validated with the settings). */
const SCHEDULE = timerSchedule('RETENTION_SCHEDULE');

/** Daily timer: deletes closed tracking records older than TRACKING_RETENTION_DAYS. */
export async function retentionTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const report = await getAppServices().retention.run();
  if (report.deleted || report.truncated) context.log(`Retention: ${JSON.stringify(report)}`);
}

app.timer('retentionTimer', { schedule: SCHEDULE, runOnStartup: false, handler: retentionTimer });
