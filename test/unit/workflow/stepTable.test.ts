/** The step table is consistent with the state machine, the queues and the step functions. */
import { deterministicRequestId } from '../../../shared/partner-center/requestId';
import { canTransition, isFinalState, TrackingState } from '../../../shared/tracking/states';
import { QUEUE_NAMES } from '../../../shared/workflow/constants';
import { STEP_FUNCTIONS } from '../../../shared/workflow/stepFunctions';
import {
  OPEN_STATES,
  STEPS,
  STEP_NAMES,
  stepOfState,
  stepRequestId,
  stepWaitingIn,
} from '../../../shared/workflow/stepTable';

describe.each(STEP_NAMES)('step %s', (step) => {
  const row = STEPS[step];

  it('can be claimed from its waiting state and reclaimed after a crash or a transient failure', () => {
    expect(canTransition(row.waiting, row.running)).toBe(true);
    expect(canTransition(row.running, row.running)).toBe(true);
  });

  it('can be parked and resumed, and can be rejected', () => {
    expect(canTransition(row.running, TrackingState.AwaitingReauthorization)).toBe(true);
    expect(canTransition(TrackingState.AwaitingReauthorization, row.waiting)).toBe(true);
    expect(canTransition(row.running, TrackingState.Rejected)).toBe(true);
  });

  it('hands on to its next step (waiting or inline) when it has one', () => {
    const next = 'next' in row ? row.next : undefined;
    if (!next) return;
    expect(canTransition(row.running, STEPS[next].waiting)).toBe(true);
    expect(canTransition(row.running, STEPS[next].running)).toBe(true);
  });

  it('is carried by a declared queue and has a step function', () => {
    expect(QUEUE_NAMES).toContain(row.queue);
    expect(typeof STEP_FUNCTIONS[step]).toBe('function');
  });

  it('has open (never final) waiting and running states that name it', () => {
    expect(isFinalState(row.waiting) || isFinalState(row.running)).toBe(false);
    expect(stepOfState(row.waiting)).toBe(step);
    expect(stepOfState(row.running)).toBe(step);
    expect(stepWaitingIn(row.waiting)).toBe(step);
  });
});

describe('the step table', () => {
  it('lists the open states the sweeper looks at, in table order', () => {
    expect(OPEN_STATES).toEqual(['Received', 'CreatingPartner', 'LinkQueued', 'CreatingMicrosoft']);
  });

  it('derives one MS-RequestId per trackingId and step, the same on every call', () => {
    const id = 'r0123456789abcdef0123456789abcde';
    // The derivation records made before the step table carry: `${trackingId}:${step}`.
    expect(stepRequestId(id, 'partner')).toBe(deterministicRequestId(`${id}:partner`));
    expect(stepRequestId(id, 'microsoft')).toBe(deterministicRequestId(`${id}:microsoft`));
    expect(stepRequestId(id, 'partner')).not.toBe(stepRequestId(id, 'microsoft'));
    // A resend (generation ≥ 1) gets its own ids; generation 0 keeps the old derivation.
    expect(stepRequestId(id, 'partner', 0)).toBe(stepRequestId(id, 'partner'));
    expect(stepRequestId(id, 'partner', 1)).toBe(deterministicRequestId(`${id}:partner:1`));
    expect(new Set([0, 1, 2].map((g) => stepRequestId(id, 'partner', g))).size).toBe(3);
    expect(stepRequestId(id, 'partner')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
