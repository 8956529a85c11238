/**
 * "Resend the fixed deal" on a refused deal's page: the bridge keeps no refused request (it held customer
 * contacts), so the operator pastes the corrected body, exactly what POST /api/referrals takes; the app checks it
 * with the same contract and sends it under the deal's own key (docs/console.md). Problems are shown next to the
 * field they point at. The pasted text is never shown back: it stays in the text area the operator types in,
 * is cleared once sent, and is not kept, logged or put into the URL.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  getResendEligibility,
  resendDeal,
  type FieldProblem,
  type ReferralView,
  type ResendAnswer,
  type ResendEligibility,
} from './api';
import { html } from './html';
import { locatePointer } from './jsonLocate';

/** Where a problem is shown: next to the key field (a header) or the body (a pointer, or nothing). */
function split(errors: FieldProblem[]): { key: FieldProblem[]; body: FieldProblem[] } {
  return {
    key: errors.filter((e) => e.header !== undefined),
    body: errors.filter((e) => e.header === undefined),
  };
}

/**
 * A parse error without the text: browsers quote a piece of the input in their message (it may hold a
 * customer's contact), so only the position is kept, as a line and column.
 */
function jsonProblem(text: string): FieldProblem | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
    let where = '';
    if (position) {
      const before = text.slice(0, Number(position[1]));
      const line = before.split('\n').length;
      where = ` near line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
    }
    return {
      pointer: '',
      code: 'invalid_json',
      message: `This is not JSON${where}: check quotes, commas and brackets.`,
    };
  }
}

/** The problems of one field; `onShow` (body problems) selects the pointed field in the text area. */
function FieldErrors(props: { id: string; errors: FieldProblem[]; onShow?: (pointer: string) => void }) {
  if (props.errors.length === 0) return html`<ul id=${props.id} class="field-errors" hidden></ul>`;
  const { onShow } = props;
  return html`<ul id=${props.id} class="field-errors" data-testid=${props.id}>
    ${props.errors.map(
      (e) =>
        html`<li data-pointer=${e.pointer ?? ''} data-header=${e.header ?? ''} data-code=${e.code}>
          <code>${e.header ?? (e.pointer || '(whole body)')}</code> ${e.message}
          ${
            onShow && e.pointer
              ? html` <button type="button" class="link" onClick=${() => onShow(e.pointer ?? '')}>
                  Show in the body
                </button>`
              : ''
          }
        </li>`,
    )}
  </ul>`;
}

/**
 * What went wrong, in a sentence: the problem's title, its detail unless it only explains the problem format
 * (a contract 400: its errors are at the fields), and how many problems are shown at the fields.
 */
function FailureSummary(props: { failure: Extract<ResendAnswer, { ok: false }> }) {
  const { title, detail, errors, status } = props.failure;
  const showDetail = detail && !(status === 400 && errors.length > 0);
  const count = errors.length;
  const sentence = `${title.charAt(0).toLowerCase()}${title.slice(1)}`.replace(/\.$/, '');
  return html`<strong>Not resent: ${sentence}.</strong>${showDetail ? html` ${detail}` : ''}${
      count ? html` ${count === 1 ? 'One problem is' : `${count} problems are`} shown at the field.` : ''
    }`;
}

/** The resend section of a refused deal's page; `onResent` gets the record as it is after the resend. */
export function ResendForm(props: {
  trackingId: string;
  onResent: (tracking: ReferralView, replayed: boolean) => void;
}) {
  const [eligibility, setEligibility] = useState<ResendEligibility | undefined>(undefined);
  const [loadError, setLoadError] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Extract<ResendAnswer, { ok: false }> | undefined>(undefined);
  const body = useRef<HTMLTextAreaElement>(null);
  const key = useRef<HTMLInputElement>(null);
  const summary = useRef<HTMLDivElement>(null);
  useEffect(() => {
    getResendEligibility(props.trackingId).then(setEligibility, (e: Error) => setLoadError(e.message));
  }, [props.trackingId]);
  useEffect(() => {
    if (failure) summary.current?.focus();
  }, [failure]);

  const heading = html`<h3 id="resend-title">Resend the fixed deal</h3>`;
  if (loadError)
    return html`<section class="resend" aria-labelledby="resend-title">
      ${heading}
      <p class="error">${loadError}</p>
    </section>`;
  if (!eligibility)
    return html`<section class="resend" aria-labelledby="resend-title">
      ${heading}
      <p class="loading">Checking…</p>
    </section>`;
  if (!eligibility.resendable)
    return html`<section class="resend" data-testid="resend" aria-labelledby="resend-title">
      ${heading}
      <p data-testid="resend-blocked" data-reason=${eligibility.blocked?.code ?? ''}>${eligibility.blocked?.message}</p>
    </section>`;
  if (!eligibility.actionsEnabled)
    return html`<section class="resend" data-testid="resend" aria-labelledby="resend-title">
      ${heading}
      <p data-testid="resend-off">
        Resending from the console is off (setting <code>CONSOLE_ACTIONS_ENABLED</code>). Send the corrected body
        to${' '}
        <code>POST /api/referrals</code
        >${eligibility.keyRequired ? ' with the same Idempotency-Key' : ' with the same externalReferenceId'}: it is a
        new attempt on this deal.
      </p>
    </section>`;

  const submit = async (event: Event) => {
    event.preventDefault();
    const text = body.current?.value ?? '';
    const parseProblem = jsonProblem(text);
    if (parseProblem) {
      setFailure({ ok: false, status: 0, title: 'the body is not JSON', errors: [parseProblem] });
      return;
    }
    setBusy(true);
    setFailure(undefined);
    try {
      const answer = await resendDeal(props.trackingId, text, key.current?.value || undefined);
      if (answer.ok) {
        if (body.current) body.current.value = '';
        if (key.current) key.current.value = '';
        props.onResent(answer.tracking, answer.replayed);
      } else {
        setFailure(answer);
      }
    } catch {
      setFailure({
        ok: false,
        status: 0,
        title: 'the app could not be reached (nothing was sent), try again',
        errors: [],
      });
    } finally {
      setBusy(false);
    }
  };
  /** Selects the field `pointer` names in the pasted body (its nearest parent when it is missing) and scrolls to it. */
  const show = (pointer: string) => {
    const area = body.current;
    if (!area) return;
    const range = locatePointer(area.value, pointer);
    area.focus();
    if (!range) return;
    area.setSelectionRange(range.start, range.end);
    const line = area.value.slice(0, range.start).split('\n').length - 1;
    const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (line - 2) * lineHeight);
  };
  const { key: keyErrors, body: bodyErrors } = split(failure?.errors ?? []);
  return html`<section class="resend" data-testid="resend" aria-labelledby="resend-title">
    ${heading}
    <p class="muted">
      The bridge does not keep a refused request (it held customer contacts). Paste the corrected request body, exactly
      what <code>POST /api/referrals</code> takes: it is checked with the same contract and sent under this deal's key,
      as a new attempt on this record (its history keeps the refusal). The page does not keep it.
      ${eligibility.keepsExternalReferenceId ? html` Keep its <code>externalReferenceId</code>: it is the deal's key.` : ''}
    </p>
    <form class="resend-form" data-testid="resend-form" onSubmit=${submit} novalidate>
      ${
        eligibility.keyRequired
          ? html`<label for="resend-key">Idempotency-Key the deal was sent with</label>
              <input
                id="resend-key"
                name="idempotencyKey"
                ref=${key}
                autocomplete="off"
                spellcheck=${false}
                required
                aria-invalid=${keyErrors.length > 0 ? 'true' : undefined}
                aria-describedby="resend-key-errors"
              />
              <${FieldErrors} id="resend-key-errors" errors=${keyErrors} />`
          : ''
      }
      <label for="resend-body">Corrected request body (JSON)</label>
      <textarea
        id="resend-body"
        name="body"
        ref=${body}
        rows="12"
        spellcheck=${false}
        autocomplete="off"
        required
        aria-invalid=${bodyErrors.length > 0 ? 'true' : undefined}
        aria-describedby="resend-body-errors"
      ></textarea>
      <${FieldErrors} id="resend-body-errors" errors=${bodyErrors} onShow=${show} />
      <div
        class=${failure ? 'resend-summary failed' : 'resend-summary'}
        role="alert"
        tabindex="-1"
        ref=${summary}
        data-testid="resend-problem"
        data-status=${failure ? String(failure.status) : ''}
      >
        ${failure ? html`<${FailureSummary} failure=${failure} />` : ''}
      </div>
      <p><button type="submit" disabled=${busy}>${busy ? 'Resending…' : 'Resend'}</button></p>
    </form>
  </section>`;
}
