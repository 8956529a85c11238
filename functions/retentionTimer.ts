import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getAppServices } from '../shared/app/composition';

/** NCRONTAB schedule of the retention timer; RETENTION_SCHEDULE overrides it (validated with the settings). */
const SCHEDULE = process.env.RETENTION_SCHEDULE ?? '0 41 2 * * *';

/** Daily timer: deletes closed tracking records older than TRACKING_RETENTION_DAYS. */
export async function retentionTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const report = await getAppServices().retention.run();
  if (report.deleted || report.truncated) context.log(`Retention: ${JSON.stringify(report)}`);
}

app.timer('retentionTimer', { schedule: SCHEDULE, runOnStartup: false, handler: retentionTimer });
