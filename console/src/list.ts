/** The pipeline: filters (kept in the URL's hash), a page of deals and the next-page cursor. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { listReferrals, type ReferralView } from './api';
import { formatTime, html, STATE_LABELS, stateTone } from './html';

/** The filters the form edits (names are the API's query parameters). */
export const FILTER_NAMES = [
  'state',
  'dealType',
  'direction',
  'decision',
  'updatedSince',
  'externalReferenceId',
  'limit',
] as const;
export type Filters = Partial<Record<(typeof FILTER_NAMES)[number], string>>;

const STATES = [
  'Received',
  'CreatingPartner',
  'LinkQueued',
  'CreatingMicrosoft',
  'AwaitingReauthorization',
  'Completed',
  'Linked',
  'Rejected',
];
const choice = (
  name: string,
  label: string,
  options: string[],
  value: string | undefined,
  labels: Record<string, string> = {},
) =>
  html`<label
    >${label}<select name=${name} value=${value ?? ''}>
      <option value="">Any</option>
      ${options.map((o) => html`<option value=${o}>${labels[o] ?? o}</option>`)}
    </select></label
  >`;

/** The filter form; submitting it changes the URL, which reloads the list. */
function FilterForm(props: { filters: Filters; onApply: (filters: Filters) => void }) {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const next: Filters = {};
    for (const name of FILTER_NAMES) {
      const value = form.get(name);
      if (typeof value !== 'string' || value.trim() === '') continue;
      next[name] = name === 'updatedSince' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value.trim();
    }
    props.onApply(next);
  };
  const f = props.filters;
  return html`<form class="filters" onSubmit=${submit} aria-label="Filters" data-testid="filters">
    ${choice('state', 'State', STATES, f.state, STATE_LABELS)}
    ${choice('dealType', 'Deal type', ['Private', 'PartnerLed', 'CoSell', 'Unknown'], f.dealType)}
    ${choice('direction', 'Direction', ['outbound', 'inbound'], f.direction)}
    ${choice('decision', "Microsoft's answer", ['Pending', 'Accepted', 'Declined', 'Expired'], f.decision)}
    <label>Changed since<input type="date" name="updatedSince" value=${f.updatedSince?.slice(0, 10) ?? ''} /></label>
    <label
      >CRM reference<input
        type="search"
        name="externalReferenceId"
        value=${f.externalReferenceId ?? ''}
        autocomplete="off"
    /></label>
    <label
      >Per page<select name="limit" value=${f.limit ?? '50'}>
        ${['20', '50', '100', '200'].map((n) => html`<option value=${n}>${n}</option>`)}
      </select></label
    >
    <div class="filter-buttons">
      <button type="submit">Apply</button>
      <button type="button" class="secondary" onClick=${() => props.onApply({})}>Clear</button>
    </div>
  </form>`;
}

/** The list page. */
export function PipelineList(props: { filters: Filters; onApply: (filters: Filters) => void }) {
  const [pages, setPages] = useState<ReferralView[][]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);
  /** The filters of the page on show (`data-loaded-for`: tests wait for the filters they set). */
  const [loadedFor, setLoadedFor] = useState('');
  const key = JSON.stringify(props.filters);
  // The filters of the latest load: an answer for older filters arriving late is dropped.
  const latest = useRef(key);
  const load = (cursor?: string) => {
    latest.current = key;
    setLoading(true);
    setError('');
    listReferrals({ ...props.filters, cursor }).then(
      (page) => {
        if (latest.current !== key) return;
        setPages((old) => (cursor ? [...old, page.items] : [page.items]));
        setNext(page.nextCursor);
        setLoadedFor(key);
        setLoading(false);
      },
      (e: Error) => {
        if (latest.current !== key) return;
        setError(e.message);
        setLoadedFor(key);
        setLoading(false);
      },
    );
  };
  useEffect(() => load(), [key]);
  const items = pages.flat();
  return html`<section class="panel" aria-labelledby="pipeline-title">
    <h2 id="pipeline-title">Pipeline</h2>
    <${FilterForm} filters=${props.filters} onApply=${props.onApply} />
    ${error ? html`<p class="error" role="alert" data-testid="list-error">${error}</p>` : ''}
    <div class="table-wrap">
      <table class="deals" data-testid="deals" aria-busy=${loading} data-loaded-for=${loadedFor}>
        <thead>
          <tr>
            <th scope="col">Deal</th>
            <th scope="col">Type</th>
            <th scope="col">Direction</th>
            <th scope="col">State</th>
            <th scope="col">Microsoft's answer</th>
            <th scope="col">Partner referral</th>
            <th scope="col">Received</th>
            <th scope="col">Last change</th>
          </tr>
        </thead>
        <tbody>
          ${items.map(
            (v) =>
              html`<tr
                data-tracking-id=${v.trackingId}
                data-state=${v.state}
                data-deal-type=${v.dealType}
                data-decision=${v.microsoft?.decision ?? v.decision ?? ''}
              >
                <td>
                  <a href="#/deal/${v.trackingId}"><code>${v.trackingId.slice(0, 12)}…</code></a>
                </td>
                <td>${v.dealType}</td>
                <td data-testid="direction">${v.direction ?? 'outbound'}</td>
                <td><span class="badge ${stateTone(v.state)}">${STATE_LABELS[v.state] ?? v.state}</span></td>
                <td data-testid="decision">
                  ${v.microsoft?.decision ?? v.decision ?? '–'}${v.microsoft?.msxId ? html` <code>${v.microsoft.msxId}</code>` : ''}
                </td>
                <td title=${v.partnerReferral?.id}>
                  ${v.partnerReferral ? html`<code>${v.partnerReferral.id.slice(0, 8)}…</code>` : '–'}
                </td>
                <td>${formatTime(v.createdAt)}</td>
                <td>${formatTime(v.updatedAt)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <p class="muted" data-testid="list-count" role="status">
      ${loading ? 'Loading…' : `${items.length} deal${items.length === 1 ? '' : 's'} shown${next ? ', more available' : ''}.`}
    </p>
    ${next ? html`<button type="button" onClick=${() => load(next)} disabled=${loading} data-testid="more">Show more</button>` : ''}
  </section>`;
}
