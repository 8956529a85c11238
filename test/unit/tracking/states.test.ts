import {
  ALLOWED_TRANSITIONS,
  FINAL_STATES,
  TrackingState,
  canTransition,
  isFinalState,
} from '../../../shared/tracking/states';

describe('tracking state machine', () => {
  it('never leaves a final state', () => {
    for (const state of FINAL_STATES) expect(ALLOWED_TRANSITIONS[state]).toEqual([]);
  });

  it('reaches a final state from every state', () => {
    for (const start of Object.values(TrackingState)) {
      const seen = new Set<TrackingState>([start]);
      const queue = [start];
      while (queue.length)
        for (const next of ALLOWED_TRANSITIONS[queue.shift()!]) {
          if (seen.has(next)) continue;
          seen.add(next);
          queue.push(next);
        }
      expect([...seen].some(isFinalState)).toBe(true);
    }
  });

  it.each([
    { from: 'Received', to: 'CreatingPartner', ok: true },
    { from: 'CreatingPartner', to: 'LinkQueued', ok: true },
    { from: 'CreatingPartner', to: 'Completed', ok: true },
    { from: 'LinkQueued', to: 'CreatingMicrosoft', ok: true },
    { from: 'CreatingMicrosoft', to: 'Linked', ok: true },
    { from: 'AwaitingReauthorization', to: 'Received', ok: true },
    { from: 'Received', to: 'Linked', ok: false },
    { from: 'Completed', to: 'LinkQueued', ok: false },
    { from: 'Rejected', to: 'Received', ok: false },
  ] as const)('$from → $to is $ok', ({ from, to, ok }) => {
    expect(canTransition(from, to)).toBe(ok);
  });
});
