/**
 * The HTTP front of the local host: maps each request to an HTTP-triggered function by route
 * template and method, hands the library an RpcHttpData (its own converter builds the HttpRequest),
 * and writes back the RpcHttpData response the library's converter produced.
 *
 * Like the real host: `/<routePrefix>/<route>`; an unknown route AND a known route with a method the
 * function does not list both answer 404 (azure-functions-host#10098); a body over the limit answers
 * 413; a handler that throws answers 500 with an empty body. Every authLevel is served anonymously
 * (as `func start` does). Per request: no file system access, no config parsing; keep-alive on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RpcHttpCookie, RpcHttpData, RpcInvocationResponse } from './coreTypes';
import type { FunctionPlan } from './functionBindings';
import type { HostLog } from './hostLog';
import type { InvocationInput } from './invokeFunction';
import { compareRoutes, compileRoute, type CompiledRoute } from './routeTemplate';

/** The admin API's answer. */
export interface AdminResponse {
  status: number;
  body?: unknown;
}

/** Serves `/admin/...` (host status, function list, manual runs of non-HTTP functions). */
export type AdminHandler = (method: string, path: string, body: Buffer) => Promise<AdminResponse>;

/** Dependencies of {@link HttpListener}. */
export interface HttpListenerOptions {
  /** The HTTP-triggered functions. */
  plans: readonly FunctionPlan[];
  /** Without slashes; '' for none. */
  routePrefix: string;
  maxRequestBodyBytes: number;
  invoke: (plan: FunctionPlan, input: InvocationInput) => Promise<RpcInvocationResponse>;
  log: HostLog;
  admin?: AdminHandler;
}

interface RouteEntry {
  plan: FunctionPlan;
  route: CompiledRoute;
  methods: ReadonlySet<string>;
}

/** The HTTP server of the local host. */
export class HttpListener {
  readonly routes: readonly RouteEntry[];
  readonly #options: HttpListenerOptions;
  readonly #server: http.Server;
  readonly #prefixPath: string;
  #inFlight = 0;
  #idle: (() => void) | undefined;

  constructor(options: HttpListenerOptions) {
    this.#options = options;
    this.#prefixPath = options.routePrefix === '' ? '' : `/${options.routePrefix.toLowerCase()}`;
    this.routes = options.plans
      .map((plan) => ({ plan, route: compileRoute(plan.http!.route), methods: new Set(plan.http!.methods) }))
      .sort((a, b) => compareRoutes(a.route, b.route));
    this.#server = http.createServer({ keepAlive: true }, (req, res) => {
      this.#inFlight++;
      this.#handle(req, res)
        .catch((error: unknown) => {
          options.log.host(
            'error',
            `Request ${req.method} ${req.url} failed in the host: ${(error as Error)?.message ?? String(error)}`,
          );
          if (!res.headersSent) {
            res.statusCode = 500;
            res.setHeader('Content-Length', '0');
          }
          res.end();
        })
        .finally(() => {
          this.#inFlight--;
          if (this.#inFlight === 0) this.#idle?.();
        });
    });
    this.#server.keepAliveTimeout = 5_000;
  }

  /** The full URL path of a function's route, e.g. `/api/referrals/{trackingId}`. */
  routePath(plan: FunctionPlan): string {
    const route = compileRoute(plan.http!.route).template;
    return `${this.#prefixPath === '' ? '' : `/${this.#options.routePrefix}`}/${route}`;
  }

  /** Listens on `host:port` (0 = a free port); resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish for up to `drainMs`, then drops every connection. */
  async close(drainMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    if (this.#inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.#idle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs))),
      ]);
      clearTimeout(timer);
    }
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const pathname = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    const lowerPath = pathname.toLowerCase();

    if (lowerPath.startsWith('/admin/') && this.#options.admin) {
      const body = await readBody(req, 1024 * 1024);
      if (body === undefined) return tooLarge(req, res);
      const answer = await this.#options.admin(method, pathname, body);
      return sendJson(res, answer.status, answer.body);
    }

    let routePath: string | undefined;
    if (this.#prefixPath === '') routePath = pathname;
    else if (lowerPath === this.#prefixPath || lowerPath.startsWith(`${this.#prefixPath}/`))
      routePath = pathname.slice(this.#prefixPath.length);
    if (routePath === undefined) {
      if (pathname === '/' && (method === 'GET' || method === 'HEAD'))
        return sendText(res, 200, 'Your Functions app is up and running (local host).', method);
      return sendEmpty(res, 404);
    }
    const segments = routePath.split('/');
    if (segments[0] === '') segments.shift();
    if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();

    let found: { entry: RouteEntry; params: Record<string, string> } | undefined;
    for (const entry of this.routes) {
      if (!entry.methods.has(method)) continue;
      const params = entry.route.match(segments);
      if (params) {
        found = { entry, params };
        break;
      }
    }
    if (!found) {
      req.resume();
      return sendEmpty(res, 404);
    }

    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.#options.maxRequestBodyBytes) return tooLarge(req, res);
    const body = await readBody(req, this.#options.maxRequestBodyBytes);
    if (body === undefined) return tooLarge(req, res);

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const query: Record<string, string> = {};
    if (queryAt >= 0) {
      for (const [key, value] of new URLSearchParams(rawUrl.slice(queryAt + 1))) {
        query[key] = key in query ? `${query[key]},${value}` : value;
      }
    }
    const httpData: RpcHttpData = {
      method,
      url: `http://${req.headers.host ?? `127.0.0.1:${req.socket.localPort}`}${rawUrl}`,
      headers,
      query,
      params: found.params,
      body: body.length > 0 ? { bytes: body } : undefined,
      identities: [],
    };
    const plan = found.entry.plan;
    const traceParent = typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined;
    const traceState = typeof req.headers.tracestate === 'string' ? req.headers.tracestate : undefined;

    let response: RpcInvocationResponse;
    try {
      response = await this.#options.invoke(plan, {
        inputData: [{ name: plan.triggerName, data: { http: httpData } }],
        triggerMetadata: {},
        traceParent,
        traceState,
        reason: `This function was programmatically called via the host APIs.`,
      });
    } catch {
      // Logged by invokeFunction; the caller learns nothing about the failure, as with the real host.
      return sendEmpty(res, 500);
    }
    writeResponse(res, method, response.returnValue?.http ?? undefined);
  }

  /** Requests being served now. */
  get inFlight(): number {
    return this.#inFlight;
  }
}

/** Reads the whole body, or undefined as soon as it exceeds `limitBytes`. */
function readBody(req: http.IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        done = true;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', (error) => {
      if (!done) reject(error);
    });
  });
}

function writeResponse(res: http.ServerResponse, method: string, data: RpcHttpData | undefined): void {
  if (!data) return sendEmpty(res, 204); // a handler that returned nothing [inferred: ASP.NET ObjectResult(null) → 204]
  const status = Number(data.statusCode ?? 200) || 200;
  res.statusCode = status;
  if (data.headers) for (const [name, value] of Object.entries(data.headers)) res.setHeader(name, value);
  if (data.cookies && data.cookies.length > 0) {
    const existing = res.getHeader('set-cookie');
    const cookies = data.cookies.map(serializeCookie);
    res.setHeader(
      'set-cookie',
      existing === undefined ? cookies : [...(Array.isArray(existing) ? existing : [String(existing)]), ...cookies],
    );
  }
  const bytes = data.body?.bytes ?? (typeof data.body?.string === 'string' ? Buffer.from(data.body.string) : undefined);
  const noBody = method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
  if (noBody || !bytes || bytes.length === 0) {
    if (!noBody) res.setHeader('Content-Length', '0');
    res.end();
    return;
  }
  res.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** `Set-Cookie` text of a cookie from the library's RpcHttpCookie. */
export function serializeCookie(cookie: RpcHttpCookie): string {
  const parts = [`${cookie.name ?? ''}=${cookie.value ?? ''}`];
  if (cookie.domain?.value) parts.push(`Domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`Path=${cookie.path.value}`);
  const expires = cookie.expires?.value;
  if (expires && typeof expires.seconds === 'number') {
    parts.push(`Expires=${new Date(expires.seconds * 1000 + Math.floor((expires.nanos ?? 0) / 1e6)).toUTCString()}`);
  }
  if (typeof cookie.maxAge?.value === 'number') parts.push(`Max-Age=${Math.trunc(cookie.maxAge.value)}`);
  if (cookie.secure?.value) parts.push('Secure');
  if (cookie.httpOnly?.value) parts.push('HttpOnly');
  if (cookie.sameSite === 'lax') parts.push('SameSite=Lax');
  else if (cookie.sameSite === 'strict') parts.push('SameSite=Strict');
  else if (cookie.sameSite === 'explicitNone') parts.push('SameSite=None');
  return parts.join('; ');
}

function sendEmpty(res: http.ServerResponse, status: number): void {
  res.statusCode = status;
  if (status !== 204 && status !== 304) res.setHeader('Content-Length', '0');
  res.end();
}

function tooLarge(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.statusCode = 413;
  res.setHeader('Content-Length', '0');
  // The rest of the body is discarded, not buffered, and the connection closes after the answer.
  res.setHeader('Connection', 'close');
  res.end();
  req.resume();
}

function sendText(res: http.ServerResponse, status: number, text: string, method: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', String(Buffer.byteLength(text)));
  res.end(method === 'HEAD' ? undefined : text);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (body === undefined) return sendEmpty(res, status);
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(Buffer.byteLength(text)));
  res.end(text);
}
