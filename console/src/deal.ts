/** One deal's page: its states, ids with links into Partner Center, Microsoft's answer and why it was refused. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { getReferral, type ConsoleStatus, type ReferralView } from './api';
import { formatTime, html, STATE_LABELS, stateTone } from './html';

const DECISION_WINDOW_DAYS = 14;

/** The states a deal of this type passes through, to draw where it is. */
function pathOf(view: ReferralView): string[] {
  if (view.dealType === 'Unknown') return ['Received', 'Rejected'];
  const cosell = view.dealType === 'CoSell';
  const path = ['Received', 'CreatingPartner', ...(cosell ? ['CreatingMicrosoft', 'Linked'] : ['Completed'])];
  if (view.state === 'Rejected')
    return [
      ...path.slice(
        0,
        path.indexOf(view.microsoftReferral || view.partnerReferral ? 'CreatingMicrosoft' : 'CreatingPartner') + 1,
      ),
      'Rejected',
    ];
  if (view.state === 'AwaitingReauthorization')
    return [
      ...path.slice(0, path.indexOf(view.parkedFrom === 'LinkQueued' ? 'CreatingMicrosoft' : 'CreatingPartner')),
      'AwaitingReauthorization',
    ];
  if (view.state === 'LinkQueued') return ['Received', 'CreatingPartner', 'LinkQueued', 'CreatingMicrosoft', 'Linked'];
  return path;
}

/** Days left of Microsoft's 14 days, counted from the link (the record's last update while Linked) [inferred]. */
export function daysLeft(view: ReferralView, nowMs: number): number | undefined {
  if (view.state !== 'Linked' || (view.decision && view.decision !== 'Pending')) return undefined;
  const linkedAtMs = Date.parse(view.updatedAt);
  return Math.max(0, DECISION_WINDOW_DAYS - (nowMs - linkedAtMs) / 86_400_000);
}

/** The deal page for `trackingId`. */
export function DealPage(props: { trackingId: string; status: ConsoleStatus | undefined }) {
  const [view, setView] = useState<ReferralView | undefined>(undefined);
  const [error, setError] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    setView(undefined);
    getReferral(props.trackingId).then(setView, (e: Error) => setError(e.message));
  }, [props.trackingId]);
  useEffect(() => heading.current?.focus(), [view, error]);
  const dashboard = props.status?.features.partnerCenterDashboardUrl ?? '';
  if (error)
    return html`<section class="panel">
      <h2 tabindex="-1" ref=${heading}>Deal not found</h2>
      <p>${error}</p>
      <p><a href="#/">Back to the pipeline</a></p>
    </section>`;
  if (!view) return html`<section class="panel"><p class="loading">Loading the deal…</p></section>`;
  const path = pathOf(view);
  const left = daysLeft(view, Date.now());
  const link = (id: string) =>
    html`<a href=${`${dashboard}${encodeURIComponent(id)}`} target="_blank" rel="noopener noreferrer">${id}</a>`;
  return html`<section
    class="panel deal"
    data-testid="deal"
    data-tracking-id=${view.trackingId}
    data-state=${view.state}
  >
    <p><a href="#/">← Pipeline</a></p>
    <h2 tabindex="-1" ref=${heading}>${view.dealType} deal <code>${view.trackingId}</code></h2>
    <ol class="steps" aria-label="States">
      ${path.map((state) => html`<li class=${state === view.state ? `current ${stateTone(state)}` : path.indexOf(state) < path.indexOf(view.state) ? 'done' : 'todo'} aria-current=${state === view.state ? 'step' : undefined}>${STATE_LABELS[state] ?? state}</li>`)}
    </ol>
    <dl class="facts">
      <dt>State</dt>
      <dd>
        <span class="badge ${stateTone(view.state)}" data-testid="deal-state"
          >${STATE_LABELS[view.state] ?? view.state}</span
        >${view.parkedFrom ? ` (resumes at ${STATE_LABELS[view.parkedFrom] ?? view.parkedFrom})` : ''}
      </dd>
      <dt>Received</dt>
      <dd>${formatTime(view.createdAt)}</dd>
      <dt>Last change</dt>
      <dd>${formatTime(view.updatedAt)}</dd>
      <dt>Partner referral</dt>
      <dd data-testid="partner-referral">${view.partnerReferral ? link(view.partnerReferral.id) : '–'}</dd>
      <dt>Engagement</dt>
      <dd>${view.partnerReferral?.engagementId ?? '–'}</dd>
      <dt>Microsoft referral</dt>
      <dd data-testid="microsoft-referral">${view.microsoftReferral ? link(view.microsoftReferral.id) : '–'}</dd>
      ${
        view.dealType === 'CoSell'
          ? html`<dt>Microsoft's answer</dt>
              <dd data-testid="decision">
                ${view.decision ?? (view.microsoftReferral ? 'Waiting' : '–')}${left !== undefined ? html` · <strong data-testid="days-left">${Math.ceil(left)} of ${DECISION_WINDOW_DAYS} days left</strong>` : ''}
              </dd>`
          : ''
      }
    </dl>
    ${view.lastError ? html`<${Refusal} error=${view.lastError} final=${view.final} />` : ''}
    <p class="muted">
      Resending a fixed deal arrives with deal updates.
      <button type="button" disabled title="Not available yet">Resend</button>
    </p>
  </section>`;
}

function Refusal(props: { error: NonNullable<ReferralView['lastError']>; final: boolean }) {
  const { error } = props;
  return html`<section
    class=${props.final ? 'refusal bad' : 'refusal warn'}
    data-testid="refusal"
    aria-labelledby="refusal-title"
  >
    <h3 id="refusal-title">${props.final ? 'Why it was refused' : 'Last error'}</h3>
    <p>
      <strong>${error.code}</strong
      >${error.status ? ` (HTTP ${error.status}, ${error.step} step)` : ` (${error.step} step)`}: ${error.message}
    </p>
    ${
      error.errors?.length
        ? html`<p>How to fix it:</p>
            <ul class="fixes">
              ${error.errors.map((e) => html`<li><code>${e.pointer || '(whole request)'}</code> ${e.message}</li>`)}
            </ul>`
        : ''
    }
  </section>`;
}
