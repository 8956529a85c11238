import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getAppServices } from './edge/services';
import { timerSchedule } from '../shared/platform/schedules';

/**
 * NCRONTAB schedule of the reconciliation; EVENTS_RECONCILE_SCHEDULE overrides it (validated with the
 * other settings in shared/platform/config.ts; read here at registration, like SWEEPER_SCHEDULE).
 */
const SCHEDULE = timerSchedule('EVENTS_RECONCILE_SCHEDULE');

/** Timer: lists the referrals changed since the watermark and applies what the events missed. */
export async function reconcileTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const report = await getAppServices().sync().reconciler.run();
  if (report.kind === 'skipped') context.log('Reconciliation skipped: another instance holds the watermark lease');
  else if (report.applied || report.deferred || report.failed) context.log(`Reconciliation: ${JSON.stringify(report)}`);
}

app.timer('reconcileTimer', { schedule: SCHEDULE, runOnStartup: false, handler: reconcileTimer });
