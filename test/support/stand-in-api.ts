// A stand-in for the Anthropic API, good enough for the real Claude Code CLI to run against
// offline (ANTHROPIC_BASE_URL=<url>). See docs/notes/claude-cli-observed.md for what the CLI
// sends and what it does with these answers.
//
// - POST /v1/messages (any query string, e.g. ?beta=true), JSON or SSE (body.stream === true).
//   A "turn" is a request with a non-empty `tools` array (the main conversation loop); anything
//   else (title generation, quota probes, ...) is a side request.
// - Every /v1/messages answer carries the unified rate-limit headers. Per-token caps count turns
//   and answer 429 "rejected" once a token has used its turns.
// - GET /api/oauth/usage mirrors the subscription usage endpoint, including how it treats clients:
//   429 with `retry-after: 0` to any User-Agent not starting with `claude-code/` (reported for the real
//   service: anthropics/claude-code 30930, 31021), and on demand a long per-IP block ("blocked").
// - HEAD / and GET / answer 200 (the CLI probes connectivity with HEAD).
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { delay } from "./wait.js";

export interface RecordedRequest {
  /** Date.now() when the request body had been read. */
  time: number;
  method: string;
  /** Path including the query string, e.g. "/v1/messages?beta=true". */
  path: string;
  /** The Bearer token of `Authorization`, else the `x-api-key` header, else null. */
  token: string | null;
  /** Parsed JSON body (undefined if the body was empty or not JSON). */

  body: any;
  /** The request's headers (lower-case names). */
  headers: Record<string, string>;
  /** The `User-Agent` header, or null when none was sent. */
  userAgent: string | null;
  /** A main-loop model request (POST /v1/messages with non-empty `tools`). */
  isTurn: boolean;
  /** HTTP status the stand-in answered (0 until decided; decided before any SLOW delay). */
  status: number;
  /**
   * Text of the LAST user message's text blocks, concatenated verbatim. `<system-reminder>…`
   * context the CLI injects is left out. A prompt that failed (429) is merged by the CLI with the
   * next one: "failed prompt\nnext prompt".
   */
  userText: string;
  /** The same, for every user message of body.messages, in order (history carried by the CLI). */
  allUserTexts: string[];
}

export interface ToolUseReply {
  toolUse: { name: string; input: unknown; id?: string };
  /** Delay before the content is streamed (ms). */
  delayMs?: number;
}
export interface TextReply {
  text: string;
  /** Delay before the content is streamed (ms). */
  delayMs?: number;
}
export type Reply = TextReply | ToolUseReply;
export type Replier = (req: RecordedRequest) => Reply | undefined;

/** "blocked": 429 with a long retry-after (`usageBlockSec`), as the real endpoint's per-IP throttle. */
/** "refuse": 429 with `retry-after: 0` to every client, as the real endpoint does to one it does not take for the CLI. */
export type UsageMode = "ok" | "hang" | "500" | "429" | "garbage" | "401" | "blocked" | "refuse";

/** The usage endpoint answers only clients whose User-Agent starts with this. */
export const USAGE_CLIENT_PREFIX = "claude-code/";

export interface UtilizationOverride {
  /** 0..100 */
  five_hour?: number;
  /** 0..100 */
  seven_day?: number;
}

/** Which window a rejection is blamed on; the CLI words it "session limit", "weekly limit", ... */
export type RateLimitClaim = "five_hour" | "seven_day" | "seven_day_opus" | "seven_day_sonnet";

export interface StandInApiOptions {
  /** Tokens the usage endpoint knows even before any setCap/setUtilization/request. */
  tokens?: string[];
  /** Reset time used when setCap is given none: now + this many seconds. Default 3600. */
  defaultResetInSec?: number;
  /** Print one line per request to stderr. Default: env STAND_IN_API_LOG === "1". */
  log?: boolean;
  /** retry-after (seconds) of the usage endpoint in mode "blocked". Default 3600. */
  usageBlockSec?: number;
}

export interface StandInApi {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Every request, in arrival order (all paths, including /api/oauth/usage and 404s). */
  requests: RecordedRequest[];
  /** Turn requests only (a filtered view of `requests`). */
  turns(): RecordedRequest[];
  close(): Promise<void>;
  /** Script replies to turn requests; undefined from the replier → default reply. */
  setReplier(fn: Replier | undefined): void;
  /** Allow `turns` turn requests for `token`; after that, 429 "rejected" until resetCount. */
  setCap(token: string, turns: number, resetAtEpochSec?: number): void;
  /** Remove the cap of a token (unlimited again); its used count is kept. */
  clearCap(token: string): void;
  /** Forget the turns a token has used. */
  resetCount(token: string): void;
  /** Turn requests answered 200 for this token. */
  usedTurns(token: string): number;
  /** Override the utilization (0..100) reported in headers and by the usage endpoint. */
  setUtilization(token: string, u: UtilizationOverride): void;
  setUsageMode(mode: UsageMode): void;
  /** anthropic-ratelimit-unified-representative-claim for this token (default five_hour). */
  setRepresentativeClaim(token: string, claim: RateLimitClaim): void;
  /**
   * A service-wide throttle that is not the account's quota (docs/claude-code.md, "Server throttle"):
   * the next `requests` turn requests of `token` answer 429 with `x-should-retry: true`, no unified
   * rate-limit headers (with them, even `allowed`, CLI 2.1.197 reports "You've hit your session limit":
   * verified here) and `retry-after: retryAfterSec`. The CLI retries these itself.
   */
  setThrottle(token: string, requests: number, retryAfterSec?: number): void;
  /**
   * A rejected token (docs/claude-code.md, "Rejected token"): the next `requests` turn requests of
   * `token` answer 401 `authentication_error` "OAuth token has expired. …".
   */
  setAuthFailure(token: string, requests: number): void;
  /** Resolves with the first recorded request (index >= fromIndex) matching pred; rejects at the deadline. */
  waitForRequest(
    pred: (r: RecordedRequest) => boolean,
    timeoutMs: number,
    fromIndex?: number,
  ): Promise<RecordedRequest>;
}

interface TokenState {
  used: number;
  cap: number | undefined;
  resetAt: number | undefined;
  override: UtilizationOverride;
  claim: RateLimitClaim | undefined;
  throttle: number;
  throttleRetryAfter: number;
  authFailures: number;
}

const TITLE_REPLY = JSON.stringify({ title: "Stand-in session" });
const WARNING_FRACTION = 0.8;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const REMINDER_RE = /<system-reminder>[\s\S]*?<\/system-reminder>/g;

/**
 * Text of one message's content (a string or blocks): the text blocks concatenated verbatim
 * (when the CLI merges several prompts into one message each but the last ends with "\n"), with
 * `<system-reminder>` parts removed (a block that had one is trimmed, and dropped if empty).
 */
export function messageText(content: unknown): string {
  const parts: string[] = [];
  if (typeof content === "string") {
    parts.push(content);
  } else if (Array.isArray(content)) {
    for (const block of content) {
      if (isRecord(block) && block.type === "text" && typeof block.text === "string") parts.push(block.text);
    }
  }
  return parts
    .map((p) => (p.includes("<system-reminder>") ? p.replace(REMINDER_RE, "").trim() : p))
    .filter((p) => p.length > 0)
    .join("");
}

function userTexts(body: unknown): string[] {
  if (!isRecord(body) || !Array.isArray(body.messages)) return [];
  const out: string[] = [];
  for (const m of body.messages) {
    if (isRecord(m) && m.role === "user") out.push(messageText(m.content));
  }
  return out;
}

function tokenOf(headers: http.IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (typeof auth === "string") {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m && m[1]) return m[1];
  }
  const key = headers["x-api-key"];
  if (typeof key === "string" && key.length > 0) return key;
  return null;
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

function randomId(prefix: string): string {
  return prefix + randomBytes(12).toString("hex");
}

function chunkText(text: string, size = 12): string[] {
  if (text.length === 0) return [""];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function approxTokens(v: unknown): number {
  try {
    return Math.max(1, Math.ceil(JSON.stringify(v ?? "").length / 4));
  } catch {
    return 1;
  }
}

export async function startStandInApi(opts: StandInApiOptions = {}): Promise<StandInApi> {
  const requests: RecordedRequest[] = [];
  const tokens = new Map<string, TokenState>();
  const log = opts.log ?? process.env.STAND_IN_API_LOG === "1";
  const defaultResetInSec = opts.defaultResetInSec ?? 3600;
  const usageBlockSec = opts.usageBlockSec ?? 3600;
  let replier: Replier | undefined;
  let usageMode: UsageMode = "ok";
  let closed = false;
  const sockets = new Set<Socket>();

  function state(token: string): TokenState {
    let s = tokens.get(token);
    if (!s) {
      s = {
        used: 0,
        cap: undefined,
        resetAt: undefined,
        override: {},
        claim: undefined,
        throttle: 0,
        throttleRetryAfter: 1,
        authFailures: 0,
      };
      tokens.set(token, s);
    }
    return s;
  }
  for (const t of opts.tokens ?? []) state(t);

  const nowSec = (): number => Math.floor(Date.now() / 1000);
  const resetOf = (s: TokenState | undefined): number => s?.resetAt ?? nowSec() + defaultResetInSec;
  const weekResetOf = (): number => nowSec() + 7 * 24 * 3600 - 3600;

  /** Utilization 0..100 for the 5-hour and 7-day windows. */
  function utilization(s: TokenState | undefined): { five: number; seven: number } {
    const computed = s && s.cap !== undefined ? (s.cap <= 0 ? 100 : Math.min(100, (100 * s.used) / s.cap)) : 0;
    const five = s?.override.five_hour ?? computed;
    // Without an override the weekly window is a fifth of the 5-hour one (arbitrary, but < five).
    const seven = s?.override.seven_day ?? Math.round((five / 5) * 100) / 100;
    return { five, seven };
  }

  function rateLimitHeaders(token: string | null, rejected: boolean): Record<string, string> {
    const s = token ? tokens.get(token) : undefined;
    const { five, seven } = utilization(s);
    const reset = resetOf(s);
    const status = rejected
      ? "rejected"
      : five >= WARNING_FRACTION * 100 || seven >= WARNING_FRACTION * 100
        ? "allowed_warning"
        : "allowed";
    const h: Record<string, string> = {
      "anthropic-ratelimit-unified-status": status,
      "anthropic-ratelimit-unified-5h-status": rejected
        ? "rejected"
        : five >= WARNING_FRACTION * 100
          ? "allowed_warning"
          : "allowed",
      "anthropic-ratelimit-unified-5h-utilization": String(five / 100),
      "anthropic-ratelimit-unified-5h-reset": String(reset),
      "anthropic-ratelimit-unified-7d-status":
        seven >= 100 ? "rejected" : seven >= WARNING_FRACTION * 100 ? "allowed_warning" : "allowed",
      "anthropic-ratelimit-unified-7d-utilization": String(seven / 100),
      "anthropic-ratelimit-unified-7d-reset": String(weekResetOf()),
      "anthropic-ratelimit-unified-representative-claim": s?.claim ?? "five_hour",
      "anthropic-ratelimit-unified-fallback-percentage": "0.5",
      "anthropic-ratelimit-unified-reset": String(reset),
      "anthropic-ratelimit-unified-overage-status": "rejected",
      "anthropic-ratelimit-unified-overage-disabled-reason": "org_level_disabled",
      "request-id": randomId("req_"),
    };
    // The CLI shows "You've used N% of your session limit" only when a -surpassed-threshold
    // header is present (or utilization >= 0.9 late in the window).
    if (!rejected && five >= WARNING_FRACTION * 100)
      h["anthropic-ratelimit-unified-5h-surpassed-threshold"] = String(WARNING_FRACTION);
    else if (!rejected && seven >= WARNING_FRACTION * 100)
      h["anthropic-ratelimit-unified-7d-surpassed-threshold"] = String(WARNING_FRACTION);
    if (rejected) h["retry-after"] = String(Math.max(1, reset - nowSec()));
    return h;
  }

  function logLine(r: RecordedRequest): void {
    if (!log) return;
    const what = r.path.startsWith("/v1/messages")
      ? ` turn=${r.isTurn} stream=${isRecord(r.body) && r.body.stream === true} user=${JSON.stringify(r.userText.slice(0, 60))}`
      : "";
    process.stderr.write(`[stand-in] ${r.method} ${r.path} -> ${r.status} token=${r.token ?? "-"}${what}\n`);
  }

  function sendJson(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const data = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(data)),
      ...headers,
    });
    res.end(data);
  }

  function defaultReply(rec: RecordedRequest): Reply {
    if (!rec.isTurn) return { text: TITLE_REPLY };
    const m = /SLOW:(\d+)/.exec(rec.userText);
    return { text: `ANSWER: ${rec.userText}`, delayMs: m && m[1] ? Number(m[1]) : 0 };
  }

  async function answerMessages(res: http.ServerResponse, rec: RecordedRequest): Promise<void> {
    const body: unknown = rec.body;
    const token = rec.token;
    const s = token ? state(token) : undefined;
    if (rec.isTurn && s && s.authFailures > 0) {
      s.authFailures -= 1;
      rec.status = 401;
      logLine(rec);
      sendJson(res, 401, {
        type: "error",
        error: {
          type: "authentication_error",
          message: "OAuth token has expired. Please obtain a new token or refresh your existing token.",
        },
        request_id: randomId("req_"),
      });
      return;
    }
    if (rec.isTurn && s && s.throttle > 0) {
      s.throttle -= 1;
      rec.status = 429;
      logLine(rec);
      sendJson(
        res,
        429,
        { type: "error", error: { type: "rate_limit_error", message: "Rate limited" }, request_id: randomId("req_") },
        { "x-should-retry": "true", "retry-after": String(s.throttleRetryAfter) },
      );
      return;
    }
    if (rec.isTurn && s && s.cap !== undefined && s.used >= s.cap) {
      rec.status = 429;
      logLine(rec);
      sendJson(
        res,
        429,
        {
          type: "error",
          error: {
            type: "rate_limit_error",
            message: "This request would exceed your account's rate limit. Please try again later.",
          },
          request_id: randomId("req_"),
        },
        rateLimitHeaders(token, true),
      );
      return;
    }
    if (rec.isTurn && s) s.used += 1;
    rec.status = 200;
    logLine(rec);

    let reply: Reply | undefined;
    if (rec.isTurn && replier) {
      try {
        reply = replier(rec);
      } catch (err) {
        reply = { text: `REPLIER ERROR: ${err instanceof Error ? err.message : String(err)}` };
      }
    }
    const r = reply ?? defaultReply(rec);
    const stream = isRecord(body) && body.stream === true;
    const model = isRecord(body) && typeof body.model === "string" ? body.model : "claude-stand-in";
    const msgId = randomId("msg_");
    const inputTokens = approxTokens(isRecord(body) ? body.messages : undefined);
    const headers = rateLimitHeaders(token, false);
    let aborted = false;
    res.on("close", () => {
      if (!res.writableFinished) aborted = true;
    });

    const isTool = "toolUse" in r;
    const text = isTool ? "" : r.text;
    const toolId = isTool ? (r.toolUse.id ?? randomId("toolu_")) : "";
    const toolJson = isTool ? JSON.stringify(r.toolUse.input ?? {}) : "";
    const outputTokens = approxTokens(isTool ? toolJson : text);
    const stopReason = isTool ? "tool_use" : "end_turn";
    const delayMs = r.delayMs ?? 0;

    if (!stream) {
      if (delayMs > 0) await delay(delayMs);
      if (aborted || closed) return;
      const content = isTool
        ? [{ type: "tool_use", id: toolId, name: r.toolUse.name, input: r.toolUse.input ?? {} }]
        : [{ type: "text", text }];
      sendJson(
        res,
        200,
        {
          id: msgId,
          type: "message",
          role: "assistant",
          model,
          content,
          stop_reason: stopReason,
          stop_sequence: null,
          usage: {
            input_tokens: inputTokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens: outputTokens,
            service_tier: "standard",
          },
        },
        headers,
      );
      return;
    }

    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      ...headers,
    });
    const event = (name: string, data: unknown): void => {
      if (!aborted && !closed) res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    event("message_start", {
      type: "message_start",
      message: {
        id: msgId,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: inputTokens,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 1,
          service_tier: "standard",
        },
      },
    });
    event("ping", { type: "ping" });
    if (delayMs > 0) {
      // Keep the stream visibly alive while "thinking", as the real API does with pings.
      const until = Date.now() + delayMs;
      while (Date.now() < until && !aborted && !closed) {
        await delay(Math.min(1000, until - Date.now()));
        if (Date.now() < until) event("ping", { type: "ping" });
      }
    }
    if (aborted || closed) return;
    if (isTool) {
      event("content_block_start", {
        type: "content_block_start",
        index: 0,
        content_block: { type: "tool_use", id: toolId, name: r.toolUse.name, input: {} },
      });
      event("content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "input_json_delta", partial_json: "" },
      });
      for (const part of chunkText(toolJson, 16)) {
        event("content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "input_json_delta", partial_json: part },
        });
      }
    } else {
      event("content_block_start", {
        type: "content_block_start",
        index: 0,
        content_block: { type: "text", text: "" },
      });
      for (const part of chunkText(text)) {
        event("content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "text_delta", text: part },
        });
      }
    }
    event("content_block_stop", { type: "content_block_stop", index: 0 });
    event("message_delta", {
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: outputTokens },
    });
    event("message_stop", { type: "message_stop" });
    if (!aborted && !closed) res.end();
  }

  function answerUsage(res: http.ServerResponse, rec: RecordedRequest): void {
    const token = rec.token;
    const finish = (status: number): void => {
      rec.status = status;
      logLine(rec);
    };
    // The real endpoint refuses unknown clients for ever, whatever the token: 429, retry-after 0.
    if (!(rec.userAgent ?? "").startsWith(USAGE_CLIENT_PREFIX)) {
      finish(429);
      sendJson(
        res,
        429,
        { type: "error", error: { type: "rate_limit_error", message: "Rate limited. Please try again later." } },
        { "retry-after": "0" },
      );
      return;
    }
    switch (usageMode) {
      case "blocked":
        finish(429);
        sendJson(
          res,
          429,
          { type: "error", error: { type: "rate_limit_error", message: "Rate limited. Please try again later." } },
          { "retry-after": String(usageBlockSec) },
        );
        return;
      case "hang":
        finish(0);
        return; // never answered; close() destroys the socket
      case "500":
        finish(500);
        sendJson(res, 500, { type: "error", error: { type: "api_error", message: "Internal server error" } });
        return;
      case "429":
        finish(429);
        sendJson(
          res,
          429,
          { type: "error", error: { type: "rate_limit_error", message: "Rate limited. Please try again later." } },
          { "retry-after": "2" },
        );
        return;
      case "refuse":
        finish(429);
        sendJson(
          res,
          429,
          { type: "error", error: { type: "rate_limit_error", message: "Rate limited. Please try again later." } },
          { "retry-after": "0" },
        );
        return;
      case "garbage": {
        finish(200);
        const data = "<html><body>definitely not json";
        res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(data)) });
        res.end(data);
        return;
      }
      case "401":
        finish(401);
        sendJson(res, 401, {
          type: "error",
          error: { type: "authentication_error", message: "OAuth token has expired." },
        });
        return;
      case "ok":
        break;
    }
    const s = token ? tokens.get(token) : undefined;
    if (!token || !s) {
      finish(401);
      sendJson(res, 401, { type: "error", error: { type: "authentication_error", message: "Invalid bearer token" } });
      return;
    }
    const { five, seven } = utilization(s);
    finish(200);
    sendJson(res, 200, {
      five_hour: { utilization: five, resets_at: new Date(resetOf(s) * 1000).toISOString() },
      seven_day: { utilization: seven, resets_at: new Date(weekResetOf() * 1000).toISOString() },
      seven_day_opus: null,
      seven_day_sonnet: null,
      extra_usage: null,
    });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => res.destroy());
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          body = raw;
        }
      }
      const path = req.url ?? "/";
      const pathname = path.split("?")[0] ?? "/";
      const method = req.method ?? "GET";
      const texts = userTexts(body);
      const rec: RecordedRequest = {
        time: Date.now(),
        method,
        path,
        token: tokenOf(req.headers),
        body,
        headers: flatHeaders(req.headers),
        userAgent: typeof req.headers["user-agent"] === "string" ? req.headers["user-agent"] : null,
        isTurn:
          method === "POST" &&
          pathname === "/v1/messages" &&
          isRecord(body) &&
          Array.isArray(body.tools) &&
          body.tools.length > 0,
        status: 0,
        userText: texts.length > 0 ? (texts[texts.length - 1] ?? "") : "",
        allUserTexts: texts,
      };
      requests.push(rec);

      if ((method === "HEAD" || method === "GET") && pathname === "/") {
        rec.status = 200;
        logLine(rec);
        res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
        res.end(method === "HEAD" ? undefined : "ok");
        return;
      }
      if (method === "POST" && pathname === "/v1/messages") {
        answerMessages(res, rec).catch((err: unknown) => {
          if (!res.headersSent)
            sendJson(res, 500, { type: "error", error: { type: "api_error", message: String(err) } });
          else res.destroy();
        });
        return;
      }
      if (method === "GET" && pathname === "/api/oauth/usage") {
        answerUsage(res, rec);
        return;
      }
      rec.status = 404;
      logLine(rec);
      sendJson(res, 404, {
        type: "error",
        error: { type: "not_found_error", message: `Not found: ${method} ${pathname}` },
      });
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const api: StandInApi = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    turns: () => requests.filter((r) => r.isTurn),
    async close() {
      if (closed) return;
      closed = true;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
    setReplier(fn) {
      replier = fn;
    },
    setCap(token, turns, resetAtEpochSec) {
      const s = state(token);
      s.cap = turns;
      s.resetAt = resetAtEpochSec ?? nowSec() + defaultResetInSec;
    },
    clearCap(token) {
      const s = state(token);
      s.cap = undefined;
    },
    resetCount(token) {
      state(token).used = 0;
    },
    usedTurns(token) {
      return tokens.get(token)?.used ?? 0;
    },
    setUtilization(token, u) {
      const s = state(token);
      s.override = { ...s.override, ...u };
    },
    setUsageMode(mode) {
      usageMode = mode;
    },
    setThrottle(token, n, retryAfterSec = 1) {
      const s = state(token);
      s.throttle = n;
      s.throttleRetryAfter = retryAfterSec;
    },
    setAuthFailure(token, n) {
      state(token).authFailures = n;
    },
    setRepresentativeClaim(token, claim) {
      state(token).claim = claim;
    },
    async waitForRequest(pred, timeoutMs, fromIndex = 0) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (let i = fromIndex; i < requests.length; i++) {
          const r = requests[i];
          if (r && pred(r)) return r;
        }
        if (Date.now() >= deadline) {
          const seen = requests
            .slice(fromIndex)
            .map(
              (r) => `${r.method} ${r.path} ${r.status} turn=${r.isTurn} ${JSON.stringify(r.userText.slice(0, 40))}`,
            );
          throw new Error(
            `stand-in API: no matching request within ${timeoutMs} ms; seen since #${fromIndex}: ${seen.join(" | ") || "none"}`,
          );
        }
        await delay(Math.min(25, Math.max(1, deadline - Date.now())));
      }
    },
  };
  return api;
}
