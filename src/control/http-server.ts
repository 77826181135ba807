import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { chmodSync, rmSync } from "node:fs";
import type { Logger } from "../util/log.js";
import { checkAuthorization, tokenMatcher } from "./auth.js";
import { AuthThrottle } from "./auth-throttle.js";
import { faultDetail, publicError } from "./error-map.js";
import { checkHostOrigin } from "./host-check.js";
import { RateLimiter } from "./rate-limit.js";
import { readJsonBody, sendError, sendJson } from "./http-util.js";
import { systemClock, type Clock } from "../util/clock.js";

export interface HttpOptions {
  host: string;
  port: number;
  token: string;
  maxBody: number;
  ratePerMinute: number;
  enableTrigger: boolean;
  /** open connections at most; more are closed at once (default 64) */
  maxConnections?: number;
  /** failed authentications per peer within `authFailureWindowMs` before it gets 429 (default 10 in 60 s) */
  authFailures?: number;
  authFailureWindowMs?: number;
}

/** HttpServer's parameters: the HttpOptions (update() changes them on reload), and where it listens. */
export interface HttpServerOptions extends HttpOptions {
  /** listen on this unix socket, whose file mode (0600) is the lock (no token for reads), not on host:port */
  socketPath?: string;
}

/** Given to raw handlers (MCP): spend `n` more calls of the caller's rate limit; false = refused. */
export interface RawCtx {
  charge(n: number): boolean;
}

export interface RouteCtx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** parsed JSON body (POST routes only) */
  body: unknown;
}

/** A route: returns the answer body, or a Promise of it (`unknown` covers both). */
export type Handler = (ctx: RouteCtx) => unknown;

/** Routes: exact path → handler. Raw handlers (MCP) write their own response. */
export interface Routes {
  get: Record<string, Handler>;
  post: Record<string, Handler>;
  trigger: Record<string, Handler>;
  raw: Record<string, (req: IncomingMessage, res: ServerResponse, ctx: RawCtx) => Promise<void>>;
  /** /ui and below on TCP (the dashboard, ui/ui-server.ts): its own cookie login instead of the bearer header */
  ui?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
}

/** HttpServer's collaborators. */
export interface HttpServerDeps {
  routes: Routes;
  log: Logger;
  /** default: the system clock */
  clock?: Clock;
}

/**
 * The control plane's HTTP server. On TCP: the Host/Origin check on every route (DNS rebinding), then
 * the bearer token on everything but /health (constant-time compare; failed attempts throttled per
 * peer), a per-token rate limit, a body limit, request timeouts and a connection cap. On the unix
 * socket (file mode 0600 in a 0700 dir): reads need no token; /trigger/* need the token unless
 * `enable_trigger` is on. Errors go through error-map.ts: a stable code and a safe message, the
 * detail of a fault only in the log; never a crash, never a stack.
 */
export class HttpServer {
  private server: Server | null = null;
  private matches: (t: string | undefined) => boolean;
  private limiter: RateLimiter;
  private throttle: AuthThrottle;

  private opts: HttpOptions;
  private routes: Routes;
  private readonly log: Logger;
  private readonly socketPath?: string;
  private readonly clock: Clock;

  constructor(deps: HttpServerDeps, opts: HttpServerOptions) {
    const { socketPath, ...http } = opts;
    this.opts = http;
    this.routes = deps.routes;
    this.log = deps.log;
    this.socketPath = socketPath;
    this.clock = deps.clock ?? systemClock;
    this.matches = tokenMatcher(opts.token);
    this.limiter = new RateLimiter(opts.ratePerMinute);
    this.throttle = new AuthThrottle({
      maxFailures: opts.authFailures ?? 10,
      windowMs: opts.authFailureWindowMs ?? 60_000,
    });
  }

  update(opts: Partial<HttpOptions>): void {
    this.opts = { ...this.opts, ...opts };
    if (opts.token) this.matches = tokenMatcher(opts.token);
    if (opts.ratePerMinute !== undefined) this.limiter.setRate(opts.ratePerMinute);
    if (opts.authFailures !== undefined) this.throttle.setMaxFailures(opts.authFailures);
    if (opts.maxConnections !== undefined && this.server) this.server.maxConnections = opts.maxConnections;
  }

  get triggersEnabled(): boolean {
    return this.opts.enableTrigger;
  }

  async listen(): Promise<AddressInfo> {
    const server = createServer(
      { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 },
      (req, res) => {
        this.handle(req, res).catch((e) => {
          this.log.error({ err: faultDetail(e, [this.opts.token]), path: req.url }, "http handler fault");
          const pub = publicError(e);
          sendError(res, pub.status, pub.code, pub.message);
        });
      },
    );
    server.maxConnections = this.opts.maxConnections ?? 64;
    server.on("clientError", (_e, socket) => socket.destroy());
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      if (this.socketPath) {
        rmSync(this.socketPath, { force: true });
        const sock = this.socketPath;
        server.listen(sock, () => {
          chmodSync(sock, 0o600); // the state dir is 0700 too, so there is no window for others
          resolve();
        });
      } else {
        server.listen(this.opts.port, this.opts.host, () => resolve());
      }
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const now = this.clock.now();
    if (!this.socketPath) {
      // Every route, /health included: a page that rebinds a name to 127.0.0.1 must learn nothing.
      const host = checkHostOrigin(
        { host: req.headers.host, origin: req.headers.origin },
        { listenHost: this.opts.host, port: req.socket.localPort ?? 0 },
      );
      if (!host.ok) return sendError(res, 403, "forbidden", host.message);
    }
    if (url.pathname === "/health" && (method === "GET" || method === "HEAD")) {
      return sendJson(res, 200, { ok: true });
    }
    if (!this.socketPath && this.routes.ui && (url.pathname === "/ui" || url.pathname.startsWith("/ui/")))
      return this.routes.ui(req, res, url);
    const isTrigger = url.pathname.startsWith("/trigger/");
    // Over the socket only mutating routes need the token, and only while triggers are off for HTTP.
    const needsToken =
      !this.socketPath || (isTrigger && !this.opts.enableTrigger && req.headers.authorization !== undefined);
    let charge: RawCtx["charge"] = () => true;
    if (needsToken) {
      const peer = this.socketPath ? "unix" : (req.socket.remoteAddress ?? "?");
      const allowed = this.throttle.check(peer, now);
      if (!allowed.ok) {
        res.setHeader("retry-after", String(Math.ceil(allowed.retryAfterMs / 1000)));
        return sendError(res, 429, "auth_throttled", "too many failed authentications; try again later");
      }
      const auth = checkAuthorization(req.headers.authorization, this.matches);
      if (!auth.ok) {
        this.throttle.fail(peer, now);
        this.log.warn({ peer, path: url.pathname, reason: auth.message }, "authentication failed");
        res.setHeader("www-authenticate", 'Bearer realm="claude-failover"');
        return sendError(res, 401, "unauthorized", auth.message);
      }
      if (!this.socketPath) {
        const key = createHash("sha256").update(auth.token).digest("hex");
        if (!this.limiter.take(key, now)) return this.rateLimited(res);
        charge = (n) => n <= 0 || this.limiter.take(key, this.clock.now(), n);
      }
    }
    const raw = this.routes.raw[url.pathname];
    if (raw) return raw(req, res, { charge });
    const table =
      method === "GET"
        ? this.routes.get
        : method === "POST"
          ? isTrigger
            ? this.routes.trigger
            : this.routes.post
          : undefined;
    const handler = table?.[url.pathname];
    if (!handler) {
      const known = [this.routes.get, this.routes.post, this.routes.trigger].some((t) => url.pathname in t);
      return known
        ? sendError(res, 405, "method_not_allowed", `${method} not allowed on this route`)
        : sendError(res, 404, "not_found", "no such route");
    }
    if (isTrigger && !this.opts.enableTrigger && !(this.socketPath && needsToken)) {
      return this.socketPath
        ? sendError(
            res,
            403,
            "forbidden",
            "trigger routes need the bearer token on the control socket while mcp_http.enable_trigger is false",
          )
        : sendError(res, 403, "forbidden", "trigger routes are disabled (mcp_http.enable_trigger: false)");
    }
    try {
      const body = method === "POST" ? await readJsonBody(req, this.opts.maxBody) : undefined;
      const result = await handler({ req, res, url, body });
      if (!res.headersSent) sendJson(res, 200, result ?? { ok: true });
    } catch (e) {
      const pub = publicError(e, [this.opts.token]);
      if (pub.internal)
        this.log.error(
          { path: url.pathname, code: pub.code, err: faultDetail(e, [this.opts.token]) },
          "control request failed",
        );
      return sendError(res, pub.status, pub.code, pub.message);
    }
  }

  private rateLimited(res: ServerResponse): void {
    res.setHeader("retry-after", "1");
    sendError(res, 429, "rate_limited", "too many requests");
  }
}
