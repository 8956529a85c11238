import {
  ALLOWED_TRANSITIONS,
  FINAL_STATES,
  REOPENING_TRANSITIONS,
  TrackingState,
  canTransition,
  isFinalState,
} from '../../../shared/tracking/states';

describe('tracking state machine', () => {
  it('leaves a final state only by a reopening transition (upgrade, resend)', () => {
    const reopening = Object.values(REOPENING_TRANSITIONS);
    for (const state of FINAL_STATES) {
      const declared = reopening.filter((r) => r.from === state).flatMap((r) => [...r.to]);
      expect([...ALLOWED_TRANSITIONS[state]].sort()).toEqual([...declared].sort());
    }
    expect(ALLOWED_TRANSITIONS.Linked).toEqual([]);
  });

  it('reopens only into a step that is not final', () => {
    for (const { to } of Object.values(REOPENING_TRANSITIONS))
      for (const state of to) expect(isFinalState(state)).toBe(false);
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
    { from: 'Completed', to: 'LinkQueued', ok: true },
    { from: 'Completed', to: 'CreatingMicrosoft', ok: true },
    { from: 'Completed', to: 'CreatingPartner', ok: false },
    { from: 'Rejected', to: 'CreatingPartner', ok: true },
    { from: 'Rejected', to: 'Received', ok: false },
    { from: 'Rejected', to: 'LinkQueued', ok: false },
    { from: 'Linked', to: 'LinkQueued', ok: false },
  ] as const)('$from → $to is $ok', ({ from, to, ok }) => {
    expect(canTransition(from, to)).toBe(ok);
  });
});
