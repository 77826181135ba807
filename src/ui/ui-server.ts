// The dashboard at /ui on the control plane's TCP listener (after its Host/Origin check): a login form that
// trades the bearer token for a session cookie (ui-auth.ts), the page and its files, a JSON snapshot, a
// server-sent event stream pushed when the store records an event (Store.onEvent), when the boxes sharing
// the store change (a lease, a running count, the store's reachability; checked each second) and every 5 s, a pane's
// tail, a task's result, and — only with mcp_http.enable_trigger — actions through the same ControlApi
// facade as MCP and /trigger/*. Without a live cookie everything but the login form and static files
// answers 401.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ControlApi } from "../control/control-api.js";
import { AuthThrottle } from "../control/auth-throttle.js";
import { tokenMatcher } from "../control/auth.js";
import { faultDetail, publicError } from "../control/error-map.js";
import { readBody, readJsonBody, sendError, sendJson } from "../control/http-util.js";
import type { Store } from "../store/store.js";
import type { EventRow } from "../store/types.js";
import type { Clock, Timer } from "../util/clock.js";
import { CfError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { loadAssets, type Asset } from "./ui-assets.js";
import { clearCookie, sessionCookie, UiSessions } from "./ui-auth.js";
import { dashboardPage, loginPage } from "./ui-pages.js";
import { boxesKey, dashboardState, MARKER_KINDS, type BoxesStatusIn, type ViewDeps } from "./ui-view.js";

/** No inline script or style anywhere; only our own origin. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const SESSION_TTL_MS = 12 * 3_600_000;
/** A change is pushed this long after the event that caused it (events come in bursts: a swap records ten). */
const PUSH_DELAY_MS = 150;
/** Pushed at least this often while someone watches (figures change without events). */
const REFRESH_MS = 5_000;
/** While someone watches, the boxes sharing the store are checked this often; a change is pushed at once. */
const TICK_MS = 1_000;
/** Two pushes are at least this far apart (a busy pool records many events a second). */
const MIN_PUSH_GAP_MS = 500;
/** Marker events kept in memory for the chart. */
const MAX_MARKERS = 500;
/** Event streams open at once at most; one more is answered 503 (each costs a snapshot per push). */
export const MAX_STREAMS = 16;
/** A stream whose unsent bytes pass this is dropped: a client that does not read cannot grow our memory. */
export const MAX_STREAM_BUFFER = 1024 * 1024;

export interface DashboardOptions extends Omit<ViewDeps, "api" | "markerEvents" | "store"> {
  api: ControlApi;
  store: ViewDeps["store"] & Pick<Store, "tailEvents">;
  clock: Clock;
  log: Logger;
  token: () => string;
}

interface Client {
  res: ServerResponse;
  cookie: string | undefined;
}

export class Dashboard {
  private readonly sessions = new UiSessions(SESSION_TTL_MS);
  private readonly throttle = new AuthThrottle({ maxFailures: 10, windowMs: 60_000 });
  private readonly clients = new Set<Client>();
  private assets: Map<string, Asset> | null = null;
  private pushTimer: Timer | null = null;
  private refreshTimer: Timer | null = null;

  private markers: EventRow[] | null = null;
  private lastPush = 0;
  /** ticks of refreshTimer since it started (every REFRESH_MS / TICK_MS-th one pushes) */
  private ticks = 0;
  /** boxesKey of the boxes' status at the last tick */
  private boxes = "";
  private readonly view: ViewDeps;

  constructor(private readonly o: DashboardOptions) {
    this.view = { ...o, markerEvents: () => this.markerEvents() };
  }

  /** The chart's marker events: read once from the store, then kept from Store.onEvent. */
  private markerEvents(): EventRow[] {
    this.markers ??= this.o.store
      .tailEvents(5000)
      .filter((e) => MARKER_KINDS.has(e.kind))
      .slice(-MAX_MARKERS);
    return this.markers;
  }

  /** Store.onEvent: keeps the chart's markers and schedules one push to the open streams. */
  onEvent(e: EventRow): void {
    if (this.markers && MARKER_KINDS.has(e.kind)) {
      this.markers.push(e);
      if (this.markers.length > MAX_MARKERS) this.markers.splice(0, this.markers.length - MAX_MARKERS);
    }
    if (!this.clients.size || this.pushTimer) return;
    const wait = Math.max(PUSH_DELAY_MS, this.lastPush + MIN_PUSH_GAP_MS - this.o.clock.now());
    this.pushTimer = this.o.clock.after(wait, () => {
      this.pushTimer = null;
      this.push();
    });
  }

  /** Event streams open now. */
  streamCount(): number {
    return this.clients.size;
  }

  stop(): void {
    this.pushTimer?.cancel();
    this.refreshTimer?.cancel();
    this.pushTimer = this.refreshTimer = null;
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  /** The handler for every path under /ui (http-server.ts routes.ui). */
  handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    setSecurityHeaders(res);
    try {
      await this.route(req, res, url);
    } catch (e) {
      const pub = publicError(e, [this.o.token()]);
      if (pub.internal)
        this.o.log.error({ path: url.pathname, err: faultDetail(e, [this.o.token()]) }, "dashboard request failed");
      sendError(res, pub.status, pub.code, pub.message);
    }
  };

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? "GET";
    const path = url.pathname === "/ui/" ? "/ui" : url.pathname;
    const now = this.o.clock.now();
    const asset = method === "GET" ? (this.assets ??= loadAssets()).get(path) : undefined;
    if (asset) {
      res.writeHead(200, { "content-type": asset.type, "content-length": asset.body.length });
      return void res.end(asset.body);
    }
    // A form or script of another origin (another local web app included) posts nothing here.
    if (method === "POST" && req.headers.origin !== undefined && !sameOrigin(req.headers.origin, req.headers.host)) {
      return sendError(res, 403, "forbidden", "a POST to the dashboard must come from the dashboard's own origin");
    }
    if (path === "/ui/login" && method === "POST") return this.login(req, res, now);
    if (path === "/ui/logout" && method === "POST") {
      this.sessions.end(req.headers.cookie);
      res.writeHead(303, { location: "/ui", "set-cookie": clearCookie() });
      return void res.end();
    }
    const authed = this.sessions.valid(req.headers.cookie, now);
    if (path === "/ui" && method === "GET")
      return html(res, authed ? 200 : 401, authed ? dashboardPage() : loginPage(null));
    if (!authed) return sendError(res, 401, "unauthorized", "log in at /ui first");
    if (method === "GET") {
      switch (path) {
        case "/ui/state":
          return sendJson(res, 200, dashboardState(this.view, now));
        case "/ui/stream":
          return this.stream(req, res);
        case "/ui/pane":
          return sendJson(res, 200, await this.o.api.sessionGet(url.searchParams.get("name") ?? "", 60));
        case "/ui/task":
          return sendJson(res, 200, this.o.api.taskGet(url.searchParams.get("id") ?? ""));
      }
    }
    if (path === "/ui/action" && method === "POST") return sendJson(res, 200, await this.action(req));
    return sendError(res, 404, "not_found", "no such page");
  }

  private async login(req: IncomingMessage, res: ServerResponse, now: number): Promise<void> {
    const peer = req.socket.remoteAddress ?? "?";
    const allowed = this.throttle.check(peer, now);
    if (!allowed.ok) {
      res.setHeader("retry-after", String(Math.ceil(allowed.retryAfterMs / 1000)));
      return html(res, 429, loginPage("Too many failed attempts; try again in a minute."));
    }
    // Reserved as a failure before the body is read: logins in flight at once count against the limit
    // (else many could pass the check before the first fails). Taken back when the token is right.
    this.throttle.fail(peer, now);
    const body = await readBody(req, 8192);
    const token = new URLSearchParams(body.toString("utf8")).get("token") ?? "";
    if (!tokenMatcher(this.o.token())(token)) {
      this.o.log.warn({ peer }, "dashboard login failed");
      return html(res, 401, loginPage("That is not the token."));
    }
    this.throttle.release(peer, now);
    const id = this.sessions.create(now);
    res.writeHead(303, { location: "/ui", "set-cookie": sessionCookie(id, SESSION_TTL_MS) });
    res.end();
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= MAX_STREAMS) {
      res.setHeader("retry-after", "30");
      return sendError(
        res,
        503,
        "too_many_streams",
        `at most ${MAX_STREAMS} dashboard event streams at once; close another tab`,
      );
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    const c: Client = { res, cookie: req.headers.cookie };
    this.clients.add(c);
    // The response's close: fires when the connection goes, whichever side ends it.
    res.on("close", () => this.clients.delete(c));
    // Before the first send: a first snapshot that throws still leaves a timer that ends or serves this client.
    this.refreshTimer ??= this.o.clock.every(TICK_MS, () => this.tick());
    res.write("retry: 3000\n\n");
    try {
      this.send(c, this.snapshot());
    } catch (e) {
      this.o.log.error({ err: errorMessage(e) }, "dashboard snapshot failed");
    }
  }

  private snapshot(): string {
    return `event: snapshot\ndata: ${JSON.stringify(dashboardState(this.view, this.o.clock.now()))}\n\n`;
  }

  private send(c: Client, frame: string): void {
    // A logged-out or expired session's stream ends (the page shows the login again).
    if (!this.sessions.valid(c.cookie, this.o.clock.now())) {
      this.clients.delete(c);
      return void c.res.end("event: logout\ndata: {}\n\n");
    }
    // A client that does not read: its unsent frames pile up in our memory. Dropped; the page reconnects.
    if (c.res.writableLength > MAX_STREAM_BUFFER) {
      this.clients.delete(c);
      this.o.log.warn({ buffered: c.res.writableLength }, "dashboard stream dropped: the client is not reading");
      return void c.res.destroy();
    }
    c.res.write(frame);
  }

  /** Each TICK_MS while streams are open: a push every REFRESH_MS, and at once when the boxes changed. */
  private tick(): void {
    this.ticks += 1;
    let changed = false;
    try {
      const key = boxesKey(this.o.api.boxesStatus() as BoxesStatusIn | null);
      changed = key !== this.boxes;
      this.boxes = key;
    } catch (e) {
      this.o.log.error({ err: errorMessage(e) }, "dashboard boxes check failed");
    }
    if (changed || this.ticks % (REFRESH_MS / TICK_MS) === 0 || !this.clients.size) this.push();
  }

  private push(): void {
    if (!this.clients.size) {
      this.refreshTimer?.cancel();
      this.refreshTimer = null;
      this.ticks = 0;
      return;
    }
    this.lastPush = this.o.clock.now();
    try {
      const frame = this.snapshot();
      for (const c of [...this.clients]) this.send(c, frame);
    } catch (e) {
      this.o.log.error({ err: errorMessage(e) }, "dashboard push failed");
    }
  }

  /** Buttons: the same facade calls as MCP's tools; refused (403) unless mcp_http.enable_trigger. */
  private async action(req: IncomingMessage): Promise<unknown> {
    if (!this.o.triggers())
      throw new CfError("forbidden", "the dashboard is read-only (mcp_http.enable_trigger: false)");
    // A cross-site form cannot set this header or a JSON content type without a CORS preflight we never answer.
    if (req.headers["x-cf-ui"] !== "1" || !String(req.headers["content-type"] ?? "").startsWith("application/json")) {
      throw new CfError("forbidden", "actions come from the dashboard page only");
    }
    const body = (await readJsonBody(req, 1_100_000)) as Record<string, unknown> | null;
    if (!body || typeof body !== "object") throw new CfError("invalid_input", "body: expected a JSON object");
    const { action, ...rest } = body;
    const api = this.o.api;
    switch (action) {
      case "swap":
        return api.swap({ reason: "dashboard", ...rest });
      case "checkpoint":
        return api.checkpoint(rest);
      case "restart":
        return api.restart(rest);
      case "account":
        return api.accountSet({ account: rest.account, action: rest.change });
      case "scale":
        return api.scale(rest);
      case "enqueue":
        return api.enqueue(rest);
      case "task-answer":
        return api.taskAnswer(rest);
      case "task-cancel":
        return api.taskCancel(rest);
      default:
        throw new CfError(
          "invalid_input",
          `action: must be one of swap, checkpoint, restart, account, scale, enqueue, task-answer, task-cancel, got ${JSON.stringify(action)}`,
        );
    }
  }
}

function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader("content-security-policy", CSP);
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("referrer-policy", "same-origin"); // no-referrer would make the login form's Origin "null" (refused by the Host/Origin check)
  res.setHeader("x-frame-options", "DENY");
  res.setHeader("cache-control", "no-store");
}

/** Whether an Origin header names the very host and port the request was addressed to (its Host header). */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const o = new URL(origin);
    return (o.protocol === "http:" || o.protocol === "https:") && o.host === new URL(`http://${host}`).host;
  } catch {
    return false; // "null" (a sandboxed or privacy-sensitive context) or malformed
  }
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
