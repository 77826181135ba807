// /mcp: MCP Streamable HTTP in stateless mode — a fresh McpServer and transport per POST, answered
// with plain JSON (no SSE stream, no session id). The HTTP server has already checked Host/Origin, the
// bearer token and one call of the rate limit; here the DNS-rebinding check again (the handler may be
// mounted elsewhere), the body limit, the JSON parse (so the SDK only ever sees a bounded, parsed
// body), and the rest of a JSON-RPC batch charged against the rate limit: 100 calls count as 100.
import type { IncomingMessage, ServerResponse } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation";
import { isCfError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { ControlApi } from "./control-api.js";
import { checkHostOrigin } from "./host-check.js";
import { readBody } from "./http-util.js";
import { faultDetail } from "./error-map.js";
import type { RawCtx } from "./http-server.js";
import { registerTools } from "./mcp-tools.js";

export interface McpHandlerOptions {
  /** The host part of mcp_http.listen. */
  listenHost: string;
  maxBody: () => number;
  /** Read per request, like the /trigger/* gate, so both follow the same switch. */
  triggersEnabled: () => boolean;
  token: () => string;
  log: Logger;
  version: string;
  onCall?: (tool: string, outcome: "ok" | "error") => void;
}

const INSTRUCTIONS =
  "claude-failover supervises Claude Code sessions in tmux under several subscription accounts. " +
  "Read tools show sessions, accounts, quota, tasks and events; mutating tools (when enabled) enqueue tasks, " +
  "send prompts, swap accounts, checkpoint, restart and scale the pool.";

type ServerOptions = Pick<McpHandlerOptions, "triggersEnabled" | "token" | "log" | "version" | "onCall"> & {
  validator?: jsonSchemaValidator;
};

/** Builds the MCP server with the tools allowed right now (one per request: stateless). */
export function buildMcpServer(api: ControlApi, opts: ServerOptions): McpServer {
  const server = new McpServer(
    { name: "claude-failover", version: opts.version },
    // One validator for all requests: the SDK would otherwise build a new Ajv instance per server.
    { capabilities: { tools: {} }, instructions: INSTRUCTIONS, jsonSchemaValidator: opts.validator },
  );
  registerTools(server, api, {
    enableTrigger: opts.triggersEnabled(),
    secrets: [opts.token()],
    log: opts.log,
    onCall: opts.onCall,
  });
  return server;
}

/** The raw route handler for /mcp (mounted in Routes.raw). */
export function createMcpHandler(
  api: ControlApi,
  opts: McpHandlerOptions,
): (req: IncomingMessage, res: ServerResponse, ctx?: RawCtx) => Promise<void> {
  const validator = new AjvJsonSchemaValidator();
  return async (req, res, ctx) => {
    const check = checkHostOrigin(
      { host: req.headers.host, origin: req.headers.origin },
      { listenHost: opts.listenHost, port: req.socket.localPort ?? 0 },
    );
    if (!check.ok) return rpcError(res, 403, -32000, `Forbidden: ${check.message}`);
    if (req.method !== "POST") {
      // Stateless: there is no server-to-client stream (GET) and no session to end (DELETE).
      res.setHeader("allow", "POST");
      return rpcError(res, 405, -32000, "Method not allowed: this MCP endpoint is stateless; use POST");
    }
    const body = await readMessage(req, opts.maxBody());
    if (!body.ok) return rpcError(res, body.status, body.code, body.message);
    // The server charged one call for the request; a batch pays for the rest of its calls.
    const calls = Array.isArray(body.value) ? body.value.length : 1;
    if (ctx && calls > 1 && !ctx.charge(calls - 1)) {
      res.setHeader("retry-after", "1");
      return rpcError(res, 429, -32000, `Too many requests: a batch of ${calls} calls is over the rate limit`);
    }
    const server = buildMcpServer(api, { ...opts, validator });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    transport.onerror = (e) => opts.log.debug({ err: faultDetail(e, [opts.token()]) }, "mcp transport error");
    res.on("close", () => {
      void transport.close().catch(() => {});
      void server.close().catch(() => {});
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, body.value);
    } catch (e) {
      opts.log.error({ err: faultDetail(e, [opts.token()]) }, "mcp request failed");
      if (!res.headersSent) rpcError(res, 500, -32603, "Internal error");
    }
  };
}

type Message = { ok: true; value: unknown } | { ok: false; status: number; code: number; message: string };

async function readMessage(req: IncomingMessage, limit: number): Promise<Message> {
  let buf: Buffer;
  try {
    buf = await readBody(req, limit);
  } catch (e) {
    if (isCfError(e, "body_too_large"))
      return { ok: false, status: 413, code: -32000, message: `Payload too large: over ${limit} bytes` };
    return { ok: false, status: 400, code: -32000, message: "Bad request: the body could not be read" };
  }
  if (!buf.length)
    return { ok: false, status: 400, code: -32700, message: "Parse error: empty body; expected a JSON-RPC message" };
  try {
    return { ok: true, value: JSON.parse(buf.toString("utf8")) as unknown };
  } catch {
    return { ok: false, status: 400, code: -32700, message: "Parse error: invalid JSON" };
  }
}

function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  const text = JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null });
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
