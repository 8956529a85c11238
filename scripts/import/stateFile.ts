/**
 * The state file beside the input (`<input>.import-state.jsonl`): one JSON line per row the bridge
 * accepted, appended as soon as its answer arrives, so a run stopped by Ctrl-C, a crash or `kill -9`
 * still leaves what it did. A rerun skips a row whose key is recorded as done with the same body
 * hash; a changed row is sent again (and the bridge answers 422 if its key already made a referral).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { DONE_STATES } from './constants';

/** One recorded row. */
export interface StateEntry {
  key: string;
  bodyHash: string;
  trackingId: string;
  state: string;
  line: number;
  /** ISO 8601 time of the answer. */
  at: string;
}

/** The default state file of an input file. */
export function defaultStatePath(inputPath: string): string {
  return `${inputPath}.import-state.jsonl`;
}

function isEntry(value: unknown): value is StateEntry {
  const v = value as Partial<StateEntry> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.key === 'string' &&
    typeof v.bodyHash === 'string' &&
    typeof v.trackingId === 'string' &&
    typeof v.state === 'string'
  );
}

/** The state file's rows that are done, by key (the last line of a key wins; torn lines are ignored). */
export function readDoneFromState(filePath: string): Map<string, StateEntry> {
  const latest = new Map<string, StateEntry>();
  if (!existsSync(filePath)) return latest;
  for (const text of readFileSync(filePath, 'utf8').split('\n')) {
    if (text.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(text);
      if (isEntry(value)) latest.set(value.key, value);
    } catch {
      // A line torn by a crash mid-write: that row is simply sent again (a replay).
    }
  }
  return new Map([...latest].filter(([, entry]) => DONE_STATES.has(entry.state)));
}

/** Appends one entry (synchronously: it is on disk before the next row's answer is handled). */
export function appendState(filePath: string, entry: StateEntry): void {
  appendFileSync(filePath, `${JSON.stringify(entry)}\n`, 'utf8');
}
