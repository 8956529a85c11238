/**
 * A counting HTTP reverse proxy on loopback: every request is forwarded unchanged (method, path,
 * headers, body) to one upstream origin and counted by method. The pipeline bench puts it in front
 * of Azurite's table endpoint to count the app's table operations; queue traffic does not pass it.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options for {@link startCountingProxy}. */
export interface CountingProxyOptions {
  /** Upstream origin, e.g. `http://127.0.0.1:10002`. Paths are kept as sent. */
  upstreamUrl: string;
  /** @default 0 (a free port) */
  port?: number;
  /** Sees every request's method and URL (path and query) before it is forwarded. */
  onRequest?: (method: string, url: string) => void;
}

/** Requests counted by the proxy. */
export interface ProxyCounts {
  /** Every forwarded request. */
  total: number;
  /** By HTTP method (`GET` reads and queries, `POST` inserts and batches, `PUT`/`MERGE`/`PATCH` updates, `DELETE`). */
  byMethod: Record<string, number>;
  /** Requests the upstream did not answer (502 sent back). */
  upstreamErrors: number;
}

/** A running proxy. */
export interface RunningCountingProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  counts(): ProxyCounts;
  /** Zeroes the counters. */
  reset(): void;
  /** Epoch ms of the last request seen (0: none). */
  lastRequestAtMs(): number;
  close(): Promise<void>;
}

/** Starts the proxy; see the module comment. */
export async function startCountingProxy(options: CountingProxyOptions): Promise<RunningCountingProxy> {
  const upstream = new URL(options.upstreamUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let counts: ProxyCounts = { total: 0, byMethod: {}, upstreamErrors: 0 };
  let lastAtMs = 0;

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    counts.total++;
    counts.byMethod[method] = (counts.byMethod[method] ?? 0) + 1;
    lastAtMs = Date.now();
    options.onRequest?.(method, req.url ?? '/');
    const headers = { ...req.headers, host: upstream.host };
    const forward = http.request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method,
        path: req.url,
        headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      counts.upstreamErrors++;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts, byMethod: { ...counts.byMethod } }),
    reset: () => {
      counts = { total: 0, byMethod: {}, upstreamErrors: 0 };
    },
    lastRequestAtMs: () => lastAtMs,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

/**
 * `connectionString` with its `TableEndpoint` pointed at `proxyUrl` (keeping the account path, e.g.
 * `/devstoreaccount1`); every other endpoint stays as it was.
 */
export function withTableEndpoint(
  connectionString: string,
  proxyUrl: string,
): { connectionString: string; upstreamOrigin: string } {
  const parts = connectionString.split(';').filter((p) => p !== '');
  const index = parts.findIndex((p) => p.startsWith('TableEndpoint='));
  if (index < 0) throw new Error('The connection string has no TableEndpoint');
  const current = new URL(parts[index].slice('TableEndpoint='.length));
  const proxied = new URL(proxyUrl);
  proxied.pathname = current.pathname;
  parts[index] = `TableEndpoint=${proxied.toString().replace(/\/$/, '')}`;
  return { connectionString: `${parts.join(';')};`, upstreamOrigin: current.origin };
}
