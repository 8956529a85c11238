/**
 * The host's console output: one line per entry, `[time] [function] message`, on stdout (like
 * `func start`). Multi-line messages are folded onto one line so a parent can read line by line.
 * Never given setting values: connection strings and keys stay out of the output.
 */
import type { RpcLogLevel } from './coreTypes';

/** Where lines go (stdout by default; tests pass an array sink). */
export type LineWriter = (line: string) => void;

/** Options of {@link HostLog}. */
export interface HostLogOptions {
  write?: LineWriter;
  /** Also print the per-invocation "Executing/Executed" lines and debug lines. @default true */
  verbose?: boolean;
}

const LEVEL_TAG: Partial<Record<RpcLogLevel, string>> = {
  warning: 'warn',
  error: 'error',
  critical: 'critical',
  debug: 'debug',
  trace: 'trace',
};

/** Writes the host's and the functions' log lines. */
export class HostLog {
  readonly verbose: boolean;
  readonly #write: LineWriter;

  constructor(options: HostLogOptions = {}) {
    this.#write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
    this.verbose = options.verbose ?? true;
  }

  /** A line from a function (context.log) or about one invocation. */
  fn(functionName: string, level: RpcLogLevel, message: string): void {
    if (level === 'none') return;
    if (!this.verbose && (level === 'debug' || level === 'trace')) return;
    const tag = LEVEL_TAG[level];
    this.#write(`[${new Date().toISOString()}] [${functionName}]${tag ? ` [${tag}]` : ''} ${fold(message)}`);
  }

  /** A line from the host itself. */
  host(level: RpcLogLevel, message: string): void {
    if (level === 'none') return;
    if (!this.verbose && (level === 'debug' || level === 'trace' || level === 'information')) return;
    const tag = LEVEL_TAG[level];
    this.#write(`[${new Date().toISOString()}] [host]${tag ? ` [${tag}]` : ''} ${fold(message)}`);
  }

  /** A line printed whatever the verbosity (start-up banner, fatal errors). */
  always(message: string): void {
    this.#write(fold(message));
  }
}

function fold(message: string): string {
  return message.includes('\n') ? message.replace(/\r?\n/g, '\\n') : message;
}
