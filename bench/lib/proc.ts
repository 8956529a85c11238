/**
 * CPU time and memory of another process, read from Linux /proc (no sampling overhead in the
 * measured process): `utime + stime` from /proc/<pid>/stat and VmHWM / VmRSS from /proc/<pid>/status.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicksPerSecond: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux when unknown). */
export function clockTicks(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** User and system CPU time of `pid` so far, in milliseconds; undefined when the process is gone. */
export function readCpuTimes(pid: number): { userMs: number; systemMs: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may contain spaces and parentheses): state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]); // field 14
  const stime = Number(fields[12]); // field 15
  return { userMs: (utime * 1000) / clockTicks(), systemMs: (stime * 1000) / clockTicks() };
}

/** User + system CPU time of `pid` so far, in milliseconds; undefined when the process is gone. */
export function readCpuTimeMs(pid: number): number | undefined {
  const times = readCpuTimes(pid);
  return times === undefined ? undefined : times.userMs + times.systemMs;
}

/** Memory figures of `pid` in MiB: `peakRss` (VmHWM) and `rss` (VmRSS); undefined when the process is gone. */
export function readMemoryMiB(pid: number): { peakRss: number; rss: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { peakRss: kib('VmHWM') / 1024, rss: kib('VmRSS') / 1024 };
}

/** CPU and peak memory of one process over a measured interval. */
export interface ProcessUsage {
  cpuMs: number;
  /** The user-mode part of cpuMs. */
  userMs: number;
  /** The kernel part of cpuMs (system calls: loopback TCP, pipes). */
  systemMs: number;
  peakRssMiB: number;
}

/**
 * Measures `pid` between {@link ProcessMeter.start} and {@link ProcessMeter.stop}. Also samples every
 * `sampleIntervalMs` so the figures survive the process dying (the last sample is kept).
 */
export class ProcessMeter {
  readonly #pid: number;
  readonly #sampleIntervalMs: number;
  #start = { userMs: 0, systemMs: 0 };
  #last = { userMs: 0, systemMs: 0 };
  #peakRssMiB = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { pid: number; sampleIntervalMs?: number }) {
    this.#pid = options.pid;
    this.#sampleIntervalMs = options.sampleIntervalMs ?? 500;
  }

  /** Reads the starting CPU time and begins sampling. */
  start(): void {
    this.#start = readCpuTimes(this.#pid) ?? { userMs: 0, systemMs: 0 };
    this.#last = this.#start;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), this.#sampleIntervalMs);
    this.#timer.unref();
  }

  /** Stops sampling and returns CPU used since start and the peak resident memory (VmHWM). */
  stop(): ProcessUsage {
    this.#sample();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const userMs = this.#last.userMs - this.#start.userMs;
    const systemMs = this.#last.systemMs - this.#start.systemMs;
    return { cpuMs: userMs + systemMs, userMs, systemMs, peakRssMiB: this.#peakRssMiB };
  }

  #sample(): void {
    const cpu = readCpuTimes(this.#pid);
    if (cpu !== undefined) this.#last = cpu;
    const memory = readMemoryMiB(this.#pid);
    if (memory && Number.isFinite(memory.peakRss)) this.#peakRssMiB = Math.max(this.#peakRssMiB, memory.peakRss);
  }
}
