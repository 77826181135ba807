import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { chmodSync, rmSync } from "node:fs";
import { isCfError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { checkAuthorization, tokenMatcher } from "./auth.js";
import { RateLimiter } from "./rate-limit.js";
import { readJsonBody, sendError, sendJson } from "./http-util.js";

export interface HttpOptions {
  host: string;
  port: number;
  token: string;
  maxBody: number;
  ratePerMinute: number;
  enableTrigger: boolean;
}

export interface RouteCtx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** parsed JSON body (POST routes only) */
  body: unknown;
}

export type Handler = (ctx: RouteCtx) => Promise<unknown> | unknown;

/** Routes: exact path → handler. Raw handlers (MCP) write their own response. */
export interface Routes {
  get: Record<string, Handler>;
  post: Record<string, Handler>;
  trigger: Record<string, Handler>;
  raw: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>;
}

const STATUS_OF: Record<string, number> = {
  bad_request: 400, invalid_input: 400, body_too_large: 413, no_such_session: 404, no_such_account: 404,
  no_such_task: 404, session_busy: 409, conflict: 409, no_target: 409, forbidden: 403,
};

/**
 * The control plane's HTTP server: /health open, everything else behind the bearer token (constant-time
 * compare), a body limit, a per-token rate limit and request timeouts. Errors become 4xx JSON; a handler
 * fault is a 500 with a generic message, never a crash and never a stack.
 */
export class HttpServer {
  private server: Server | null = null;
  private matches: (t: string | undefined) => boolean;
  private limiter: RateLimiter;

  /** With `socketPath` the server listens on a unix socket whose file mode (0600) is the lock: no token. */
  constructor(private opts: HttpOptions, private routes: Routes, private readonly log: Logger, private readonly socketPath?: string) {
    this.matches = tokenMatcher(opts.token);
    this.limiter = new RateLimiter(opts.ratePerMinute);
  }

  update(opts: Partial<HttpOptions>): void {
    this.opts = { ...this.opts, ...opts };
    if (opts.token) this.matches = tokenMatcher(opts.token);
    if (opts.ratePerMinute !== undefined) this.limiter.setRate(opts.ratePerMinute);
  }

  get triggersEnabled(): boolean {
    return this.opts.enableTrigger;
  }

  async listen(): Promise<AddressInfo> {
    const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => {
      this.handle(req, res).catch((e) => {
        this.log.error({ err: errorMessage(e), path: req.url }, "http handler fault");
        sendError(res, 500, "internal", "internal error");
      });
    });
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
    if (url.pathname === "/health" && (method === "GET" || method === "HEAD")) {
      return sendJson(res, 200, { ok: true });
    }
    if (!this.socketPath) {
      const auth = checkAuthorization(req.headers.authorization, this.matches);
      if (!auth.ok) {
        res.setHeader("www-authenticate", 'Bearer realm="claude-failover"');
        return sendError(res, 401, "unauthorized", auth.message);
      }
      const key = createHash("sha256").update(auth.token).digest("hex");
      if (!this.limiter.take(key, Date.now())) {
        res.setHeader("retry-after", "1");
        return sendError(res, 429, "rate_limited", "too many requests");
      }
    }
    const raw = this.routes.raw[url.pathname];
    if (raw) return raw(req, res);
    const isTrigger = url.pathname.startsWith("/trigger/");
    const table = method === "GET" ? this.routes.get : method === "POST" ? (isTrigger ? this.routes.trigger : this.routes.post) : undefined;
    const handler = table?.[url.pathname];
    if (!handler) {
      const known = [this.routes.get, this.routes.post, this.routes.trigger].some((t) => url.pathname in t);
      return known ? sendError(res, 405, "method_not_allowed", `${method} not allowed on ${url.pathname}`) : sendError(res, 404, "not_found", `no route ${url.pathname}`);
    }
    if (isTrigger && !this.opts.enableTrigger) {
      return sendError(res, 403, "forbidden", "trigger routes are disabled (mcp_http.enable_trigger: false)");
    }
    try {
      const body = method === "POST" ? await readJsonBody(req, this.opts.maxBody) : undefined;
      const result = await handler({ req, res, url, body });
      if (!res.headersSent) sendJson(res, 200, result ?? { ok: true });
    } catch (e) {
      if (isCfError(e)) return sendError(res, STATUS_OF[e.code] ?? 400, e.code, e.message);
      throw e;
    }
  }
}
