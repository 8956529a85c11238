/** htm bound to Preact's `h`: tagged-template markup without a JSX build step. */
import { h } from 'preact';
import htm from 'htm';

/** Markup as a tagged template: html`<p>${text}</p>`. */
export const html = htm.bind(h);

/** A date as the console shows it (UTC, to the minute). */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '–';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '–' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Human words for a tracking state. */
export const STATE_LABELS: Record<string, string> = {
  Received: 'Received',
  CreatingPartner: 'Creating partner referral',
  Completed: 'Completed',
  LinkQueued: 'Link queued',
  CreatingMicrosoft: 'Creating Microsoft referral',
  Linked: 'Linked with Microsoft',
  Rejected: 'Refused',
  AwaitingReauthorization: 'Waiting for re-consent',
};

/** The CSS class of a state's badge. */
export function stateTone(state: string): string {
  if (state === 'Completed' || state === 'Linked') return 'ok';
  if (state === 'Rejected') return 'bad';
  if (state === 'AwaitingReauthorization') return 'warn';
  return 'busy';
}
