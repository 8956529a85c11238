/**
 * One deal's page: its states, direction, ids with links into Partner Center, Partner Center's status,
 * Microsoft's answer (MSX id, days left to its deadline), why it was refused (with the resend form), and its history.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { getReferral, type ConsoleStatus, type ReferralView } from './api';
import { formatTime, html, STATE_LABELS, stateTone } from './html';
import { ResendForm } from './resend';

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

/** Days left of Microsoft's 14 days, and whether they are counted from the record's deadline or guessed. */
export interface DaysLeft {
  days: number;
  /** `respondBy`: from Microsoft's deadline on the record; `inferred`: from the link (the last update while Linked). */
  basis: 'respondBy' | 'inferred';
}

/**
 * Days left for Microsoft to answer: to `microsoft.respondBy` when the record has it, else 14 days from the
 * link (the record's last update while Linked) [inferred]. Undefined once Microsoft answered.
 */
export function daysLeft(view: ReferralView, nowMs: number): DaysLeft | undefined {
  const decision = view.microsoft?.decision ?? view.decision;
  if (view.state !== 'Linked' || (decision && decision !== 'Pending')) return undefined;
  const respondByMs = Date.parse(view.microsoft?.respondBy ?? '');
  if (Number.isFinite(respondByMs))
    return { days: Math.max(0, (respondByMs - nowMs) / 86_400_000), basis: 'respondBy' };
  const linkedAtMs = Date.parse(view.updatedAt);
  return { days: Math.max(0, DECISION_WINDOW_DAYS - (nowMs - linkedAtMs) / 86_400_000), basis: 'inferred' };
}

const SOURCE_LABELS: Record<string, string> = { us: 'Bridge', event: 'Event', reconcile: 'Reconciliation' };

/** Partner Center's status of the partner referral: `status / substatus (reason)`. */
function partnerStatusOf(referral: ReferralView['partnerReferral']): string {
  if (!referral?.status) return '–';
  return `${referral.status}${referral.substatus ? ` / ${referral.substatus}` : ''}${referral.statusReason ? ` (${referral.statusReason})` : ''}`;
}

/** The deal value with its currency: `100,000 USD`. */
function dealValueOf(referral: NonNullable<ReferralView['partnerReferral']>): string {
  return `${(referral.dealValue ?? 0).toLocaleString('en-US')}${referral.currency ? ` ${referral.currency}` : ''}`;
}

/** The deal's history, newest first, as a timeline. */
function Timeline(props: { history: NonNullable<ReferralView['history']> }) {
  return html`<section class="timeline-box" aria-labelledby="history-title">
    <h3 id="history-title">History</h3>
    <ol class="timeline" data-testid="history">
      ${props.history.map(
        (entry) =>
          html`<li data-kind=${entry.kind} data-source=${entry.source}>
            <time datetime=${entry.at}>${formatTime(entry.at)}</time>
            <span class="source ${entry.source}">${SOURCE_LABELS[entry.source] ?? entry.source}</span>
            <strong>${entry.kind}</strong>
            ${entry.from !== undefined || entry.to !== undefined ? html` ${entry.from ?? '–'} → ${entry.to ?? '–'}` : ''}
            ${entry.note ? html`<span class="muted"> · ${entry.note}</span>` : ''}
          </li>`,
      )}
    </ol>
  </section>`;
}

/** The deal page for `trackingId`. */
export function DealPage(props: { trackingId: string; status: ConsoleStatus | undefined }) {
  const [view, setView] = useState<ReferralView | undefined>(undefined);
  const [error, setError] = useState('');
  const [resent, setResent] = useState<{ state: string; replayed: boolean } | undefined>(undefined);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    setView(undefined);
    setResent(undefined);
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
  const microsoft = view.microsoft;
  const answer = microsoft?.decision ?? view.decision;
  const direction = view.direction ?? 'outbound';
  const link = (id: string) =>
    html`<a href=${`${dashboard}${encodeURIComponent(id)}`} target="_blank" rel="noopener noreferrer">${id}</a>`;
  return html`<section
    class="panel deal"
    data-testid="deal"
    data-tracking-id=${view.trackingId}
    data-state=${view.state}
  >
    <p><a href="#/">← Pipeline</a></p>
    <h2 tabindex="-1" ref=${heading}>
      ${view.dealType} deal <code>${view.trackingId}</code>
      <span class="badge direction" data-testid="direction">${direction}</span>
    </h2>
    ${
      resent
        ? html`<p class="notice ok" role="status" data-testid="resend-result" data-state=${resent.state}>
            ${resent.replayed ? 'Already resent with this body' : 'Resent'}: the deal is now${' '}
            <strong>${STATE_LABELS[resent.state] ?? resent.state}</strong>.${' '}
            ${resent.state === 'Rejected' ? 'Partner Center refused it again: see why below. ' : ''}
            <a href=${`#/deal/${view.trackingId}`}>Link to this deal</a> · <a href="#/">Pipeline</a>
          </p>`
        : ''
    }
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
      <dt>Direction</dt>
      <dd>
        ${direction === 'inbound' ? 'Inbound (created in Partner Center or by Microsoft)' : 'Outbound (sent by the bridge)'}
      </dd>
      ${
        view.partnerReferral?.dealValue !== undefined
          ? html`<dt>Deal value</dt>
              <dd data-testid="deal-value">
                ${dealValueOf(view.partnerReferral)}${view.partnerReferral.closingDateTime ? ` · closes ${view.partnerReferral.closingDateTime.slice(0, 10)}` : ''}
              </dd>`
          : ''
      }
      <dt>Received</dt>
      <dd>${formatTime(view.createdAt)}</dd>
      <dt>Last change</dt>
      <dd>${formatTime(view.updatedAt)}</dd>
      <dt>Partner referral</dt>
      <dd data-testid="partner-referral">${view.partnerReferral ? link(view.partnerReferral.id) : '–'}</dd>
      <dt>Engagement</dt>
      <dd>${view.partnerReferral?.engagementId ?? '–'}</dd>
      <dt>Partner Center status</dt>
      <dd data-testid="partner-status">${partnerStatusOf(view.partnerReferral)}</dd>
      <dt>Microsoft referral</dt>
      <dd data-testid="microsoft-referral">${view.microsoftReferral ? link(view.microsoftReferral.id) : '–'}</dd>
      ${
        view.dealType === 'CoSell' || view.microsoft
          ? html`<dt>Microsoft's answer</dt>
              <dd data-testid="decision" data-decision=${answer ?? ''}>
                ${answer ?? (view.microsoftReferral ? 'Waiting' : '–')}${microsoft?.decidedAt ? ` on ${formatTime(microsoft.decidedAt)}` : ''}${microsoft?.reason ? ` (${microsoft.reason})` : ''}${
                  left !== undefined
                    ? html` ·
                        <strong data-testid="days-left" data-basis=${left.basis}
                          >${Math.ceil(left.days)} of ${DECISION_WINDOW_DAYS} days left</strong
                        >${left.basis === 'respondBy' ? ` (until ${formatTime(microsoft?.respondBy)})` : ' [inferred from the link]'}`
                    : ''
                }
              </dd>
              <dt>Microsoft CRM id (MSX)</dt>
              <dd data-testid="msx-id">${microsoft?.msxId ?? '–'}</dd>`
          : ''
      }
    </dl>
    ${view.lastError ? html`<${Refusal} error=${view.lastError} final=${view.final} />` : ''}
    ${
      view.state === 'Rejected'
        ? html`<${ResendForm}
            key=${`${view.trackingId}-${view.updatedAt}`}
            trackingId=${view.trackingId}
            onResent=${(tracking: ReferralView, replayed: boolean) => {
              setResent({ state: tracking.state, replayed });
              setView(tracking);
            }}
          />`
        : ''
    }
    ${view.history?.length ? html`<${Timeline} history=${view.history} />` : ''}
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
