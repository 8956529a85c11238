/** The re-consent banner, the health line and the queue cards (with the poison actions when they are on). */
import { useState } from 'preact/hooks';
import { actOnPoison, getPoison, type ConsoleStatus, type PoisonMessage } from './api';
import { formatTime, html } from './html';

/** Shown while Partner Center refuses the refresh token. */
export function ReconsentBanner(props: { status: ConsoleStatus }) {
  const { reconsent, refreshToken } = props.status;
  if (!reconsent.required) return null;
  return html`<section class="banner" role="alert" data-testid="reconsent-banner">
    <h2>Partner Center needs a new sign-in</h2>
    <p>
      The refresh token was
      refused${reconsent.since ? html` since <time datetime=${reconsent.since}>${formatTime(reconsent.since)}</time>` : ''}.
      Referrals wait in <strong>Waiting for re-consent</strong> and resume by themselves once a new token is stored.
    </p>
    <p>Run, with the app's settings: <code data-testid="reconsent-command">${reconsent.command}</code></p>
    <p class="muted">${tokenAgeText(refreshToken)}</p>
  </section>`;
}

/** "The stored refresh token is 3.2 days old (limit 90 days without use)". */
export function tokenAgeText(token: ConsoleStatus['refreshToken']): string {
  if (token.error) return `Refresh token: ${token.error}.`;
  if (token.ageDays === undefined) return 'Refresh token: age unknown.';
  const by =
    token.storedBy === 'auth-consent'
      ? 'stored by a sign-in'
      : token.storedBy === 'rotation'
        ? 'rotated by the app'
        : 'stored';
  return `The stored refresh token is ${token.ageDays.toFixed(1)} days old (${by}; it expires after ${token.inactivityLimitDays} days without use).`;
}

/** The health line under the title. */
export function HealthLine(props: { status: ConsoleStatus }) {
  const { health } = props.status;
  const parked = health.dependencies.parkedReferrals?.count;
  return html`<p class="health" data-testid="health">
    <span class="badge ${health.status === 'ok' ? 'ok' : health.status === 'degraded' ? 'warn' : 'bad'}"
      >${health.status}</span
    >
    <span>version ${health.version}</span>
    ${typeof parked === 'number' ? html`<span>${parked} waiting for re-consent</span>` : ''}
  </p>`;
}

/** Depth and poison count of each queue. */
export function QueueCards(props: { status: ConsoleStatus; onChanged: () => void }) {
  return html`<section aria-labelledby="queues-title" class="panel">
    <h2>Partner Center sign-in</h2>
    <p class="muted token" data-testid="token-age">${tokenAgeText(props.status.refreshToken)}</p>
    <h2 id="queues-title">Queues</h2>
    <ul class="queues" data-testid="queues">
      ${props.status.queues.map(
        (q) =>
          html`<li class="queue" data-queue=${q.queue} data-messages=${q.messages ?? ''} data-poison=${q.poison ?? ''}>
            <span class="queue-name">${q.queue}</span>
            <span>${q.messages ?? '?'} waiting</span>
            <span class=${q.poison ? 'poison bad' : 'poison'}>${q.poison ?? '?'} poison</span>
            ${q.poison ? html`<${PoisonList} queue=${q.queue} actionsEnabled=${props.status.features.actionsEnabled} onChanged=${props.onChanged} />` : ''}
          </li>`,
      )}
    </ul>
  </section>`;
}

function PoisonList(props: { queue: string; actionsEnabled: boolean; onChanged: () => void }) {
  const [messages, setMessages] = useState<PoisonMessage[] | undefined>(undefined);
  const [note, setNote] = useState('');
  const load = () =>
    getPoison(props.queue).then(
      (r) => setMessages(r.messages),
      (e: Error) => setNote(e.message),
    );
  const act = (id: string, action: 'replay' | 'discard') =>
    actOnPoison(props.queue, id, action).then(
      () => {
        setNote(`${action === 'replay' ? 'Replayed' : 'Discarded'} ${id}.`);
        props.onChanged();
        void load();
      },
      (e: Error) => setNote(e.message),
    );
  return html`<details
    onToggle=${(e: Event) => (e.currentTarget as HTMLDetailsElement).open && !messages && void load()}
  >
    <summary>Poison messages</summary>
    ${!props.actionsEnabled ? html`<p class="muted">Actions are off (setting CONSOLE_ACTIONS_ENABLED). Replay with <code>npm run replay:poison -- --queue ${props.queue}</code>.</p>` : ''}
    <ul class="poison-list">
      ${(messages ?? []).map(
        (m) =>
          html`<li>
            <code>${m.messageId}</code>
            ${m.trackingId ? html`<a href="#/deal/${m.trackingId}">${m.trackingId}</a>` : ''}
            <span class="muted">${formatTime(m.insertedOn)}, ${m.dequeueCount} deliveries</span>
            ${
              props.actionsEnabled
                ? html`<button type="button" onClick=${() => act(m.messageId, 'replay')}>Replay</button>
                    <button type="button" class="danger" onClick=${() => act(m.messageId, 'discard')}>Discard</button>`
                : ''
            }
          </li>`,
      )}
    </ul>
    ${note ? html`<p role="status">${note}</p>` : ''}
  </details>`;
}
