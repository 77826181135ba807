// Helpers for the control-plane tests: the MCP SDK's own client over real HTTP, and a raw node:http
// caller for the requests a well-behaved client never sends (bad Host, no token, huge bodies, ...).
import assert from "node:assert/strict";
import { request } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Harness } from "./harness.js";

export function listenOf(h: Harness): string {
  return String((h.configObject.mcp_http as Record<string, unknown>).listen);
}

/** An SDK client connected to http://<listen>/mcp with the bearer token (or the given headers). */
export async function connectMcp(listen: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: "cf-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://${listen}/mcp`), { requestInit: { headers } }),
  );
  return client;
}

export interface ToolAnswer {
  isError: boolean;
  text: string;
  json: unknown;
}

export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
  const r = await client.callTool({ name, arguments: args });
  const content = r.content as { type: string; text?: string }[];
  const text = content.map((c) => c.text ?? "").join("");
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* an error text */
  }
  return { isError: r.isError === true, text, json };
}

/** A tool call that must succeed; returns its JSON. */
export async function callOk<T = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  const r = await callTool(client, name, args);
  assert.equal(r.isError, false, `${name} failed: ${r.text}`);
  return r.json as T;
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One request with exactly these headers (Host included) over a fresh connection. */
export function rawRequest(
  listen: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<RawReply> {
  const [host, port] = splitListen(listen);
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path, headers, agent: false, setHost: !("host" in headers) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    // The server may answer (413) and close before the whole body is out.
    req.on("error", (e: NodeJS.ErrnoException) =>
      e.code === "EPIPE" || e.code === "ECONNRESET" ? undefined : reject(e),
    );
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(":");
  return [listen.slice(0, i).replace(/^\[|\]$/g, ""), Number(listen.slice(i + 1))];
}

/** Headers of a well-formed MCP POST. */
export function mcpHeaders(token: string | null, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...extra,
  };
}

export function rpc(method: string, params: unknown = {}, id: number | string = 1): string {
  return JSON.stringify({ jsonrpc: "2.0", id, method, params });
}
