/**
 * A workflow wired to the in-memory tracking store, the Partner Center simulator (over loopback HTTP,
 * with the real client) and recording queues, on a fake clock: the state machine runs fast and fully.
 * `script` makes a given step's next Partner Center call fail in a chosen way (or wait for a gate).
 */
import { startPartnerCenter, type RunningPartnerCenter } from '../../../../sandbox/partner-center/server';
import { ReauthorizationRequiredError } from '../../../../shared/auth/errors';
import {
  PartnerCenterClient,
  PartnerCenterRejectedError,
  PartnerCenterUnavailableError,
} from '../../../../shared/partner-center';
import { createLogger, silentSink } from '../../../../shared/platform/logging';
import { InMemoryTrackingRecords } from '../../../../shared/tracking/inMemoryTrackingRecords';
import type { TrackingRecord } from '../../../../shared/tracking/trackingRecord';
import type { CallbackSender } from '../../../../shared/workflow/callbacks';
import { LINK_QUEUE_NAME, SUBMIT_QUEUE_NAME } from '../../../../shared/workflow/constants';
import type { StepMessage } from '../../../../shared/workflow/messages';
import type { QueueSender, ReferralsApi } from '../../../../shared/workflow/ports';
import { ReferralWorkflow, type ReferralWorkflowOptions } from '../../../../shared/workflow/referralWorkflow';
import { Sweeper } from '../../../../shared/workflow/sweeper';

/** A queue that keeps what was sent. */
export class RecordingQueue implements QueueSender {
  readonly messages: StepMessage[] = [];
  refuse = false;
  async send(message: StepMessage): Promise<void> {
    if (this.refuse) throw new Error('queue unavailable');
    this.messages.push(message);
  }
  ids(): string[] {
    return this.messages.map((m) => m.trackingId);
  }
}

/** How the next Partner Center call of a step goes wrong. */
export type CallFault =
  | 'unavailable' // refused before reaching Partner Center (a 503 after the client's retries)
  | 'lostAnswer' // reaches Partner Center (the referral is made), then the answer is lost
  | 'rejected' // Partner Center answers 400
  | 'reauthorization' // the refresh token is refused
  | { gate: Promise<void>; entered: () => void }; // waits for `gate` before calling

/** Which call: the create of a step, or the Microsoft step's lookup. */
export type CallName = 'partner' | 'microsoft' | 'microsoft-lookup';

/** Partner Center with scripted faults per call, over the real client and the simulator. */
export class ScriptedPartnerCenter implements ReferralsApi {
  readonly calls: CallName[] = [];
  readonly #faults: Array<{ call: CallName; fault: CallFault }> = [];
  constructor(readonly inner: ReferralsApi) {}

  /** The next `call` fails (or waits) as `fault` says. */
  next(call: CallName, fault: CallFault): this {
    this.#faults.push({ call, fault });
    return this;
  }

  createReferral: ReferralsApi['createReferral'] = (body, options) =>
    this.#run(options?.logFields?.step as CallName, () => this.inner.createReferral(body, options));

  listReferrals: ReferralsApi['listReferrals'] = (query, options) =>
    this.#run('microsoft-lookup', () => this.inner.listReferrals(query, options));

  async #run<T>(call: CallName, send: () => Promise<T>): Promise<T> {
    this.calls.push(call);
    const index = this.#faults.findIndex((f) => f.call === call);
    const fault = index < 0 ? undefined : this.#faults.splice(index, 1)[0].fault;
    if (fault === undefined) return send();
    if (typeof fault === 'object') {
      fault.entered();
      await fault.gate;
      return send();
    }
    if (fault === 'unavailable')
      throw new PartnerCenterUnavailableError('Service unavailable', { status: 503, code: 'serviceUnavailable' });
    if (fault === 'rejected')
      throw new PartnerCenterRejectedError('The referral is invalid', { status: 400, code: 'invalidRequest' });
    if (fault === 'reauthorization')
      throw new ReauthorizationRequiredError('Refresh token refused', { reason: 'invalid_grant' });
    await send();
    throw new PartnerCenterUnavailableError('The connection to Partner Center failed', { code: 'network' });
  }
}

/** A gate a test opens by hand; `entered` resolves once a call waits on it. */
export function gate(): { fault: CallFault; open: () => void; entered: Promise<void> } {
  let open: () => void = () => undefined;
  let entered: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
  return { fault: { gate: opened, entered }, open, entered: enteredPromise };
}

/** Starts the simulator for a test file (beforeAll/afterAll); `reset()` between tests is the caller's. */
export function usePartnerCenter(): { readonly current: RunningPartnerCenter } {
  let running: RunningPartnerCenter | undefined;
  beforeAll(async () => {
    running = await startPartnerCenter({ auth: false, seed: 7 });
  });
  afterAll(async () => running?.close());
  return {
    get current() {
      if (!running) throw new Error('Partner Center simulator not started');
      return running;
    },
  };
}

/** One world: store, clock, queues, Partner Center, and workflows for several instances. */
export class World {
  clockMs = 1_900_000_000_000;
  readonly records = new InMemoryTrackingRecords({ nowMs: () => this.clockMs });
  readonly submitQueue = new RecordingQueue();
  readonly linkQueue = new RecordingQueue();
  readonly partnerCenter: ScriptedPartnerCenter;
  readonly simulator: RunningPartnerCenter;

  constructor(simulator: RunningPartnerCenter) {
    this.simulator = simulator;
    simulator.reset();
    this.partnerCenter = new ScriptedPartnerCenter(
      new PartnerCenterClient({
        baseUrl: simulator.url,
        tokens: { getAccessToken: async () => 'token' },
        maxAttempts: 1,
        timeoutMs: 5000,
        nowMs: () => this.clockMs,
      }),
    );
  }

  /** A workflow instance (instanceId `a` by default) on this world. */
  workflow(options: Partial<ReferralWorkflowOptions> & { callbacks?: CallbackSender } = {}): ReferralWorkflow {
    return new ReferralWorkflow({
      store: this.records,
      partnerCenter: this.partnerCenter,
      submitQueue: this.submitQueue,
      linkQueue: this.linkQueue,
      logger: createLogger({ sink: silentSink }),
      instanceId: 'a',
      leaseDurationMs: 60_000,
      nowMs: () => this.clockMs,
      allowInsecureCallback: true,
      allowPrivateCallbackTargets: true,
      ...options,
    });
  }

  /** The sweeper of this world. */
  sweeper(workflow: ReferralWorkflow, tokens?: { getAccessToken(): Promise<string> }): Sweeper {
    return new Sweeper({
      records: this.records,
      queues: { [SUBMIT_QUEUE_NAME]: this.submitQueue, [LINK_QUEUE_NAME]: this.linkQueue },
      callbacks: workflow.callbacks,
      tokens,
      staleAfterMs: 120_000,
      logger: createLogger({ sink: silentSink }),
      nowMs: () => this.clockMs,
    });
  }

  /** Referrals Partner Center holds, for a record's engagement. */
  referralsIn(record: TrackingRecord): Array<Record<string, unknown>> {
    return this.simulator.referrals().filter((r) => r.engagementId === record.engagementId);
  }

  /** Microsoft referrals in a record's engagement. */
  microsoftIn(record: TrackingRecord): Array<Record<string, unknown>> {
    return this.referralsIn(record).filter((r) => r.organizationId === 'msft');
  }

  /** The stored record. */
  async stored(trackingId: string): Promise<TrackingRecord> {
    const record = await this.records.read(trackingId);
    if (!record) throw new Error(`no record ${trackingId}`);
    return record;
  }
}
