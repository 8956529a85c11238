import { outcomeOf } from '../../../shared/listing/summary';
import {
  projectionOf,
  projectionChanged,
  rowKeyOf,
  dayOf,
  previousDay,
  isDay,
} from '../../../shared/listing/indexEntry';
import { projectionFilterOf, recordMatches } from '../../../shared/listing/listFilters';

const record = {
  trackingId: `r${'b'.repeat(31)}`,
  state: 'CreatingMicrosoft' as const,
  dealType: 'CoSell',
  keySource: 'header',
  request: { referral: { externalReferenceId: "crm-o'brien" } },
  createdAtEpochMs: Date.parse('2025-11-26T10:00:00Z'),
  updatedAtEpochMs: Date.parse('2025-11-26T10:00:01Z'),
};

describe('index entries', () => {
  it('sort newest first inside a day', () => {
    const older = rowKeyOf(Date.parse('2025-11-26T01:00:00Z'), record.trackingId);
    const newer = rowKeyOf(Date.parse('2025-11-26T02:00:00Z'), record.trackingId);
    expect(newer < older).toBe(true);
    expect(newer).toMatch(/^\d{13}-r[b]{31}$/);
  });

  it('walk days backwards across months and leap days', () => {
    expect(previousDay('2024-03-01')).toBe('2024-02-29');
    expect(previousDay('2025-01-01')).toBe('2024-12-31');
    expect(dayOf(Date.parse('2025-11-26T23:59:59.999Z'))).toBe('2025-11-26');
    expect(isDay('2025-02-29')).toBe(false);
  });

  it('project a record: outbound by default, the CRM id kept after the request is purged, the link time once', () => {
    const linked = {
      ...record,
      state: 'Linked' as const,
      request: undefined,
      updatedAtEpochMs: record.updatedAtEpochMs + 5,
    };
    const projection = projectionOf(linked, record);
    expect(projection).toMatchObject({
      state: 'Linked',
      final: true,
      direction: 'outbound',
      externalReferenceId: "crm-o'brien",
      linkedAtEpochMs: linked.updatedAtEpochMs,
    });
    expect(projection.decision).toBeUndefined();
    expect(projectionOf(linked, linked).linkedAtEpochMs).toBeUndefined();
  });

  it("project Microsoft's answer from the record's `microsoft`: decision, when it was made, the deadline", () => {
    const answered = {
      ...record,
      state: 'Linked' as const,
      direction: 'inbound',
      microsoft: { decision: 'Accepted', decidedAt: '2025-11-27T10:00:00Z', respondBy: '2025-12-10T08:00:00Z' },
    };
    expect(projectionOf(answered)).toMatchObject({
      direction: 'inbound',
      decision: 'Accepted',
      decisionAtEpochMs: Date.parse('2025-11-27T10:00:00Z'),
      respondByEpochMs: Date.parse('2025-12-10T08:00:00Z'),
    });
    const waiting = projectionOf({ ...answered, microsoft: { decision: 'Pending', respondBy: 'not a time' } });
    expect(waiting.decision).toBe('Pending');
    expect(waiting.decisionAtEpochMs).toBeUndefined();
    expect(waiting.respondByEpochMs).toBeUndefined();
    expect(projectionOf({ ...answered, microsoft: { decision: 'Maybe' } }).decision).toBeUndefined();
  });
});

describe('list filters', () => {
  it('escape values in the OData condition', () => {
    expect(projectionFilterOf({ externalReferenceId: "crm-o'brien" })).toBe(
      "externalReferenceId eq 'crm-o''brien' and keySource ne 'externalReferenceId'",
    );
    expect(projectionFilterOf({ states: ['Rejected', 'Linked'], final: true, updatedSinceEpochMs: 5 })).toBe(
      "(state eq 'Rejected' or state eq 'Linked') and final eq true and " +
        "(updatedAtEpochMs ge 5.0 or (final eq false and state ne 'AwaitingReauthorization'))",
    );
    // An in-progress entry keeps the state of its run's first write: an in-progress state takes the class.
    expect(projectionFilterOf({ states: ['CreatingMicrosoft', 'Rejected', 'AwaitingReauthorization'] })).toBe(
      "(state eq 'Rejected' or state eq 'AwaitingReauthorization' or (final eq false and state ne 'AwaitingReauthorization'))",
    );
    expect(projectionFilterOf({})).toBeUndefined();
  });

  it('are rewritten only when what the index answers changes: not between two in-progress states', () => {
    const creating = projectionOf({ ...record, state: 'CreatingPartner' });
    const later = { ...record, updatedAtEpochMs: record.updatedAtEpochMs + 50 };
    expect(projectionChanged(creating, projectionOf(later))).toBe(false); // CreatingPartner → CreatingMicrosoft
    expect(projectionChanged(creating, projectionOf({ ...later, state: 'AwaitingReauthorization' }))).toBe(true);
    expect(projectionChanged(creating, projectionOf({ ...later, state: 'Linked' }, record))).toBe(true);
    expect(projectionChanged(creating, projectionOf({ ...later, dealType: 'Private' }))).toBe(true);
    const parked = projectionOf({ ...record, state: 'AwaitingReauthorization' });
    expect(projectionChanged(parked, projectionOf({ ...later, state: 'AwaitingReauthorization' }))).toBe(true);
    // A merge keeps the fields the new projection does not name (linkedAtEpochMs of the linking write).
    const linked = projectionOf({ ...later, state: 'Linked' }, record);
    expect(linked.linkedAtEpochMs).toBe(later.updatedAtEpochMs);
    expect(projectionChanged(linked, projectionOf({ ...later, state: 'Linked' }))).toBe(false);
  });

  it('check the record itself, so a stale projection never lists a non-matching record', () => {
    expect(recordMatches(record, { states: ['CreatingMicrosoft'], direction: 'outbound' })).toBe(true);
    expect(recordMatches(record, { states: ['Linked'] })).toBe(false);
    expect(recordMatches(record, { decision: 'Accepted' })).toBe(false);
    expect(recordMatches(record, { direction: 'inbound' })).toBe(false);
    expect(recordMatches(record, { externalReferenceId: "crm-o'brien" })).toBe(true);
    expect(
      recordMatches(
        { ...record, microsoft: { decision: 'Accepted' }, direction: 'inbound' },
        { decision: 'Accepted', direction: 'inbound' },
      ),
    ).toBe(true);
  });
});

describe('summary outcomes', () => {
  it.each([
    ['Completed', 'completed'],
    ['Linked', 'linked'],
    ['Rejected', 'rejected'],
    ['AwaitingReauthorization', 'parked'],
    ['CreatingPartner', 'inProgress'],
    ['LinkQueued', 'inProgress'],
  ] as const)('%s counts as %s', (state, outcome) => {
    expect(outcomeOf({ state })).toBe(outcome);
  });
});
