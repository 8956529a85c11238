/**
 * A recording HTTP reverse proxy in front of the Partner Center simulator, one per app instance: every
 * request is forwarded unchanged, and per `bucketMs` bucket it records the calls started, the answers by
 * status, and the most calls in flight at once. The throttle bench charts these (what each instance
 * actually did) beside the simulator's own counters.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One bucket of the timeline. */
export interface TimelineBucket {
  /** Bucket start, ms since the proxy's `t0`. */
  atMs: number;
  started: number;
  /** Answers by HTTP status (`"201"`, `"429"`, `"error"`). */
  answered: Record<string, number>;
  /** Most calls in flight at once during the bucket. */
  maxInFlight: number;
}

/** A running proxy. */
export interface RunningTimelineProxy {
  /** `http://127.0.0.1:<port>` (the app's PARTNER_CENTER_BASE_URL). */
  url: string;
  /** Starts a new timeline at `t0EpochMs` (earlier buckets are dropped). */
  reset(t0EpochMs: number): void;
  /** Epoch ms of the first request since the last reset (undefined: none yet). */
  firstRequestAtMs(): number | undefined;
  /** Buckets from `t0` to the last one with activity. */
  timeline(): TimelineBucket[];
  close(): Promise<void>;
}

/** Starts the proxy in front of `upstreamUrl`; see the module comment. */
export async function startTimelineProxy(options: {
  upstreamUrl: string;
  bucketMs?: number;
}): Promise<RunningTimelineProxy> {
  const upstream = new URL(options.upstreamUrl);
  const bucketMs = options.bucketMs ?? 100;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  let t0 = Date.now();
  let buckets: TimelineBucket[] = [];
  let inFlight = 0;
  let firstAtMs: number | undefined;
  const bucket = (): TimelineBucket => {
    const index = Math.max(0, Math.floor((Date.now() - t0) / bucketMs));
    while (buckets.length <= index)
      buckets.push({ atMs: buckets.length * bucketMs, started: 0, answered: {}, maxInFlight: inFlight });
    return buckets[index];
  };
  const answered = (status: string): void => {
    inFlight--;
    const b = bucket();
    b.answered[status] = (b.answered[status] ?? 0) + 1;
  };

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    firstAtMs ??= Date.now();
    const b = bucket();
    b.started++;
    b.maxInFlight = Math.max(b.maxInFlight, inFlight);
    let counted = false;
    const once = (status: string) => {
      if (counted) return;
      counted = true;
      answered(status);
    };
    const forward = http.request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        agent,
      },
      (answer) => {
        once(String(answer.statusCode ?? 0));
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      once('error');
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    reset(t0EpochMs) {
      t0 = t0EpochMs;
      buckets = [];
      firstAtMs = undefined;
    },
    firstRequestAtMs: () => firstAtMs,
    timeline: () => buckets.map((b) => ({ ...b, answered: { ...b.answered } })),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
