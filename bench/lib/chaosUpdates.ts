/**
 * The updates of the chaos run (bench/chaos.ts): once a deal is final, two changes are sent to
 * PATCH /api/referrals/{trackingId}, one after the other, each with its own Idempotency-Key and sent
 * UPDATE_SENDS times at once (retried on a lost or 5xx answer, on 429 and on 409 #not-created):
 *
 * ```
 * change 1   details.dealValue = V1, team += chaos-1-<seed>-<index>@partner.example.com
 * change 2   details.dealValue = V2, team += chaos-2-<seed>-<index>@partner.example.com   (once change 1 shows)
 * ```
 * Then the simulator's referrals are checked: the final dealValue is V2 and each added member is on the
 * team exactly once (a member twice is a change applied twice; a member missing, or another dealValue,
 * a lost change). Addresses are made up for the run and never logged.
 */
import { QueueServiceClient } from '@azure/storage-queue';
import type { RunningSandbox } from '../../sandbox/sandbox';
import { sleep, type HttpClient } from './httpClient';

/** Sends of each change, at once (concurrent sends with one key must apply it once). */
export const UPDATE_SENDS = 2;
/** Every how many planned deals one is updated (deals upgraded to co-sell are left out). */
const UPDATE_EVERY = 4;
/** Update sends that must have met the Partner Center faults before they are cleared (fewer with fewer updates). */
const MIN_FAULTED_UPDATE_SENDS = 10;
const UPDATE_QUEUE = 'referral-update';

/** One change of a deal. */
interface PlannedChange {
  key: string;
  body: { details: { dealValue: number }; team: Array<{ firstName: string; email: string }> };
  dealValue: number;
  memberEmail: string;
}

/** A deal the run updates. */
export interface PlannedUpdate {
  index: number;
  trackingId: string;
  changes: PlannedChange[];
}

/** The updates figures of the chaos run. */
export interface ChaosUpdateFigures {
  /** Distinct changes the app accepted (200 or 202 to one of its UPDATE_SENDS sends); one it never accepted is a problem line. */
  updatesSent: number;
  /** Changes whose effect Partner Center holds exactly once. */
  updatesApplied: number;
  /** Accepted changes whose effect Partner Center does not hold (member missing, or not the last dealValue). */
  lostChanges: number;
  /** Changes (sent, accepted or not) whose member is on the team more than once. */
  doubleApplied: number;
  /** PATCH requests sent (retries counted in `updateRetries`). */
  updateSends: number;
  updateRetries: number;
  /** PATCH requests sent while the Partner Center faults were on. */
  updateSendsDuringFaults: number;
  /** Deals planned for updates that ended Rejected (nothing to change). */
  updatesSkipped: number;
  /** Final answers by status. */
  updateAnswers: Record<string, number>;
}

/** Plans the updates: every UPDATE_EVERY-th deal (no PRNG draw: the seed's mix is unchanged), upgrades left out. */
export function planUpdates(
  plan: ReadonlyArray<{ index: number; trackingId: string; upgrade?: boolean }>,
  seed: number,
): PlannedUpdate[] {
  const seen = new Set<string>();
  return plan
    .filter((planned) => planned.index % UPDATE_EVERY === 1 && planned.upgrade !== true)
    .filter((planned) => !seen.has(planned.trackingId) && seen.add(planned.trackingId))
    .map((planned) => ({
      index: planned.index,
      trackingId: planned.trackingId,
      changes: [1, 2].map((n) => {
        const dealValue = 100_000 + planned.index * 10 + n;
        const memberEmail = `chaos-${n}-${seed}-${planned.index}@partner.example.com`;
        return {
          key: `chaos-update-${seed}-${planned.index}-${n}`,
          body: { details: { dealValue }, team: [{ firstName: 'Chaos', email: memberEmail }] },
          dealValue,
          memberEmail,
        };
      }),
    }));
}

/** Options of {@link ChaosUpdates}. */
export interface ChaosUpdatesOptions {
  client: HttpClient;
  functionsUrl: () => string;
  /** True while the Partner Center faults are on. */
  faultsOn: () => boolean;
  log: (line: string) => void;
}

/** Sends the planned updates and checks them against the simulator. */
export class ChaosUpdates {
  readonly #o: ChaosUpdatesOptions;
  readonly #started = new Map<
    string,
    { update: PlannedUpdate; partnerReferralId: string; sent: number; accepted: number }
  >();
  readonly #stats = { sends: 0, retries: 0, sendsDuringFaults: 0, skipped: 0 };
  readonly #answers: Record<string, number> = {};
  readonly #running: Array<Promise<void>> = [];
  readonly problems: string[] = [];
  #unfinished = 0;

  constructor(options: ChaosUpdatesOptions) {
    this.#o = options;
  }

  /** Planned updates not finished yet (waiting for their deal, sending, or waiting for a change to show). */
  get unfinished(): number {
    return this.#unfinished;
  }

  /** PATCH sends made while the faults were on. */
  get sendsDuringFaults(): number {
    return this.#stats.sendsDuringFaults;
  }

  /** Faulted sends the fault phase waits for (0 without updates). */
  faultedSendsWanted(planned: number): number {
    return Math.min(planned * 2 * UPDATE_SENDS, MIN_FAULTED_UPDATE_SENDS);
  }

  /** Starts updating `update`'s deal once it is final (bounded by `deadlineMs`). */
  start(update: PlannedUpdate, deadlineMs: number): void {
    this.#unfinished++;
    this.#running.push(
      this.#run(update, deadlineMs).finally(() => {
        this.#unfinished--;
      }),
    );
  }

  /** Resolves when every started update has sent what it could. */
  async sent(): Promise<void> {
    await Promise.all(this.#running);
  }

  async #run(update: PlannedUpdate, deadlineMs: number): Promise<void> {
    const url = this.#url(update);
    let partnerReferralId: string | undefined;
    for (;;) {
      const view = await this.#o.client.request(url, { timeoutMs: 15_000 });
      if (view.status === 200 && view.json?.final === true) {
        const partnerReferral = view.json.partnerReferral as { id?: unknown } | undefined;
        partnerReferralId = typeof partnerReferral?.id === 'string' ? partnerReferral.id : undefined;
        if (view.json.state === 'Rejected' || !partnerReferralId) {
          this.#stats.skipped++;
          return;
        }
        break;
      }
      if (Date.now() > deadlineMs) return this.#problem(update, 'never final for its updates');
      await sleep(500);
    }
    // `sent`: changes sent at least once (a send without an answer may still have been applied: checked for
    // double application); `accepted`: changes the app answered 200 or 202 for (only those can be lost).
    const entry = { update, partnerReferralId, sent: 0, accepted: 0 };
    this.#started.set(update.trackingId, entry);
    for (const change of update.changes) {
      entry.sent++;
      const answers = await Promise.all(
        Array.from({ length: UPDATE_SENDS }, () => this.#sendOne(update, change, deadlineMs)),
      );
      if (!answers.some((ok) => ok)) return;
      entry.accepted++;
      // The next change is based on this one: wait until the record shows it (a 202 finishes from the queue).
      for (;;) {
        const view = await this.#o.client.request(url, { timeoutMs: 15_000 });
        const partnerReferral = view.json?.partnerReferral as { dealValue?: unknown } | undefined;
        if (view.status === 200 && partnerReferral?.dealValue === change.dealValue) break;
        if (Date.now() > deadlineMs) return this.#problem(update, `change ${change.key} never showed`);
        await sleep(500);
      }
    }
  }

  #url(update: PlannedUpdate): string {
    return `${this.#o.functionsUrl()}/referrals/${update.trackingId}`;
  }

  /** One send of a change with its retries; true once the app took it (200 or 202). */
  async #sendOne(update: PlannedUpdate, change: PlannedChange, deadlineMs: number): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (attempt === 0) this.#stats.sends++;
      else this.#stats.retries++;
      if (this.#o.faultsOn()) this.#stats.sendsDuringFaults++;
      const answer = await this.#o.client.request(this.#url(update), {
        method: 'PATCH',
        body: change.body,
        headers: { 'idempotency-key': change.key, 'content-type': 'application/merge-patch+json' },
        timeoutMs: 15_000,
      });
      const type = typeof answer.json?.type === 'string' ? answer.json.type : '';
      const retryable =
        answer.status === 0 ||
        answer.status >= 500 ||
        answer.status === 429 ||
        (answer.status === 409 && type.endsWith('#not-created'));
      if (!retryable) {
        this.#answers[answer.status] = (this.#answers[answer.status] ?? 0) + 1;
        if (answer.status === 200 || answer.status === 202) return true;
        this.#problem(update, `change ${change.key} answered ${answer.status} ${type}`);
        return false;
      }
      if (Date.now() > deadlineMs) {
        this.#problem(update, `change ${change.key} gave up (${answer.status || answer.error?.message})`);
        return false;
      }
      await sleep(Math.min(2_000, 200 * 2 ** Math.min(attempt, 4)));
    }
  }

  #problem(update: PlannedUpdate, text: string): void {
    this.problems.push(`#${update.index} update: ${text}`);
    this.#o.log(`chaos: #${update.index} update: ${text}`);
  }

  /** Waits (bounded) until the `referral-update` queue is empty and every sent change shows in the simulator. */
  async settle(sandbox: RunningSandbox, timeoutMs: number): Promise<void> {
    const queue = QueueServiceClient.fromConnectionString(sandbox.azurite.connectionString).getQueueClient(
      UPDATE_QUEUE,
    );
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const depth = (await queue.exists()) ? ((await queue.getProperties()).approximateMessagesCount ?? 0) : 0;
      if (depth === 0 && this.check(sandbox.partnerCenter.referrals()).lostChanges === 0) return;
      await sleep(500);
    }
  }

  /** The figures, from the simulator's referrals. */
  check(referrals: readonly unknown[]): ChaosUpdateFigures {
    const byId = new Map<string, { dealValue?: unknown; team: string[] }>();
    for (const referral of referrals as Array<Record<string, unknown>>) {
      const details = (referral.details ?? {}) as { dealValue?: unknown };
      const team = Array.isArray(referral.team) ? (referral.team as Array<{ email?: unknown }>) : [];
      byId.set(String(referral.id), {
        dealValue: details.dealValue,
        team: team.map((member) => (typeof member.email === 'string' ? member.email.toLowerCase() : '')),
      });
    }
    const figures = { updatesSent: 0, updatesApplied: 0, lostChanges: 0, doubleApplied: 0 };
    for (const { update, partnerReferralId, sent, accepted } of this.#started.values()) {
      const held = byId.get(partnerReferralId);
      const changes = update.changes.slice(0, sent);
      changes.forEach((change, n) => {
        const copies = held?.team.filter((email) => email === change.memberEmail.toLowerCase()).length ?? 0;
        if (copies > 1) figures.doubleApplied++;
        if (n >= accepted) return; // never accepted (the harness gave up: a problem line says so), so not lost
        figures.updatesSent++;
        const last = n === update.changes.length - 1;
        if (copies === 0 || (last && held?.dealValue !== change.dealValue)) figures.lostChanges++;
        else if (copies === 1) figures.updatesApplied++;
      });
    }
    return {
      ...figures,
      updateSends: this.#stats.sends,
      updateRetries: this.#stats.retries,
      updateSendsDuringFaults: this.#stats.sendsDuringFaults,
      updatesSkipped: this.#stats.skipped,
      updateAnswers: { ...this.#answers },
    };
  }
}
