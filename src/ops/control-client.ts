import { request } from "node:http";
import type { Config } from "../config/types.js";
import { pathsFor } from "../config/paths.js";
import { readEnvFile, SYSTEM_SECRETS_FILE, tokenFileFor } from "./env-file.js";

export interface ClientResponse {
  status: number;
  body: unknown;
}

function send(opts: {
  socketPath?: string;
  host?: string;
  port?: number;
  method: string;
  path: string;
  token?: string;
  body?: unknown;
}): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    const req = request(
      {
        socketPath: opts.socketPath,
        host: opts.host,
        port: opts.port,
        method: opts.method,
        path: opts.path,
        headers,
        timeout: 120_000,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => (text += d));
        res.on("end", () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(payload);
  });
}

/**
 * Over the daemon's private unix socket. Reads need no token; mutating routes need `token` unless
 * mcp_http.enable_trigger is on (see operatorToken).
 */
export function localCall(
  c: Config,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<ClientResponse> {
  return send({ socketPath: pathsFor(c).controlSocket, method, path, body, token });
}

/**
 * The bearer token for operator commands: the environment variable mcp_http.bearer_token_env names,
 * else that variable in token.env beside the config file (what `init` writes), else in the system
 * unit's secrets file. undefined when none is readable.
 */
export function operatorToken(c: Config, env: NodeJS.ProcessEnv, configPath: string): string | undefined {
  const name = c.mcp_http.bearer_token_env;
  if (env[name]) return env[name];
  for (const file of [tokenFileFor(configPath), SYSTEM_SECRETS_FILE]) {
    const r = readEnvFile(file);
    if (r.ok && r.vars[name]) return r.vars[name];
  }
  return undefined;
}

export function errorText(r: ClientResponse): string {
  const b = r.body as { error?: { message?: string } } | string;
  if (typeof b === "object" && b?.error?.message) return `${r.status}: ${b.error.message}`;
  return `${r.status}: ${typeof b === "string" ? b : JSON.stringify(b)}`;
}
