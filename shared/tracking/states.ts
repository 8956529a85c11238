/**
 * The tracking state machine: one record per referral request.
 *
 * ```
 * Received ──► CreatingPartner ──┬──► Completed                                       (Private, PartnerLed)
 *                    │           ├──────────────────► CreatingMicrosoft ──► Linked       (CoSell, linked inline)
 *                    │           └──► LinkQueued ──► CreatingMicrosoft ──► Linked       (CoSell, via referral-link)
 *                    ├──► Rejected                 (Partner Center said 4xx: permanent, with its error code)
 *                    └──► AwaitingReauthorization  (refresh token refused) ──► back to where it was parked
 * ```
 * A new request's record is inserted directly as `CreatingPartner` with the step lease (the claim is
 * the insert); `Received` is where a parked or deferred partner step waits for its next try.
 * The design card's `PartnerCreated` is not a stored state: the partner referral's id and engagementId
 * are written in the same conditional write as the next state (`Completed`, `CreatingMicrosoft` or
 * `LinkQueued`), so there is no moment where the referral exists but the next step is not recorded
 * (docs/architecture.md). `CreatingMicrosoft` can also end in `Rejected` (the Microsoft referral was
 * refused; the partner referral exists and the record says so) or park in `AwaitingReauthorization`.
 *
 * Two final states can be reopened, each only by a new request of the caller ({@link REOPENING_TRANSITIONS}):
 * ```
 * Completed ──► LinkQueued / CreatingMicrosoft   upgrade to co-sell (POST /api/referrals/{id}/co-sell)
 * Rejected  ──► CreatingPartner                  fix and resend (same key, corrected payload, nothing created)
 * ```
 *
 * `Inbound` is the one state of a record the bridge opened for a referral it did not create.
 */
export const TrackingState = {
  Received: 'Received',
  CreatingPartner: 'CreatingPartner',
  Completed: 'Completed',
  LinkQueued: 'LinkQueued',
  CreatingMicrosoft: 'CreatingMicrosoft',
  Linked: 'Linked',
  Rejected: 'Rejected',
  AwaitingReauthorization: 'AwaitingReauthorization',
  /**
   * A referral the bridge did not create (an inbound lead, a deal made in the Partner Center UI), tracked
   * from what Partner Center says about it (shared/sync/). Final: no step runs on it.
   */
  Inbound: 'Inbound',
} as const;
export type TrackingState = (typeof TrackingState)[keyof typeof TrackingState];

/**
 * States in which no step is pending (the view's `final`; the request is purged, the callback is sent).
 * A record leaves one only through a {@link REOPENING_TRANSITIONS} entry: a new request of the caller.
 */
export const FINAL_STATES: ReadonlySet<TrackingState> = new Set([
  TrackingState.Completed,
  TrackingState.Linked,
  TrackingState.Rejected,
  TrackingState.Inbound,
]);

/** Allowed transitions; every write goes through {@link assertTransition}. */
export const ALLOWED_TRANSITIONS: Readonly<Record<TrackingState, readonly TrackingState[]>> = {
  Received: ['CreatingPartner', 'Rejected', 'AwaitingReauthorization'],
  CreatingPartner: [
    'CreatingPartner',
    'Completed',
    'LinkQueued',
    'CreatingMicrosoft',
    'Rejected',
    'AwaitingReauthorization',
  ],
  LinkQueued: ['CreatingMicrosoft', 'Rejected', 'AwaitingReauthorization'],
  CreatingMicrosoft: ['CreatingMicrosoft', 'Linked', 'Rejected', 'AwaitingReauthorization'],
  AwaitingReauthorization: ['Received', 'LinkQueued', 'Rejected'],
  Completed: ['LinkQueued', 'CreatingMicrosoft'],
  Linked: [],
  Rejected: ['CreatingPartner'],
  Inbound: [],
};

/**
 * The transitions out of a final state, and the use case that alone makes each: the upgrade of a Private or
 * PartnerLed deal to co-sell (the Microsoft step's waiting state, or its running state when linked inline),
 * and the resend of a deal refused before anything was created in Partner Center (the partner step again).
 */
export const REOPENING_TRANSITIONS = {
  upgrade: { from: 'Completed', to: ['LinkQueued', 'CreatingMicrosoft'] },
  resend: { from: 'Rejected', to: ['CreatingPartner'] },
} as const satisfies Record<string, { from: TrackingState; to: readonly TrackingState[] }>;

/** True when the record will not change any more. */
export function isFinalState(state: TrackingState): boolean {
  return FINAL_STATES.has(state);
}

/** True when `from → to` is a transition of the state machine. */
export function canTransition(from: TrackingState, to: TrackingState): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}
