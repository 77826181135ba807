// Benchmark: the MCP tool sessions_list at 100 sessions, over loopback HTTP with keep-alive, through
// the whole control plane (bearer check, rate limiter, Host/Origin check, body read, a fresh stateless
// MCP server + transport per request, the facade, SQLite). GET /sessions (same facade, no MCP) is the
// baseline. The daemon runs in its own process (serve.ts); its 100 sessions are store rows + specs:
// no CLI runs, and the sweep is off.
// Run: node --import tsx bench/control/sessions-list.ts [requests-per-level]
// Prints JSON: requests/s and p50/p99/max latency (ms) per concurrency level.
import { spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const N = Number(process.argv[2] ?? 4000);
const SESSIONS = 100;
const LEVELS = [1, 4, 16];

const server = spawn(
  process.execPath,
  ["--import", "tsx", join(dirname(fileURLToPath(import.meta.url)), "serve.ts"), String(SESSIONS)],
  { stdio: ["ignore", "pipe", "inherit"] },
);
try {
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: server.stdout }).once("line", resolve);
    server.once("exit", (code) => reject(new Error(`bench server exited (${code})`)));
  });
  const { listen, token } = JSON.parse(line) as { listen: string; token: string };
  const [host, port] = listen.split(":") as [string, string];
  const auth = { authorization: `Bearer ${token}` };
  const mcp = {
    method: "POST",
    path: "/mcp",
    headers: {
      ...auth,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "sessions_list", arguments: {} },
    }),
  };
  const rest = { method: "GET", path: "/sessions", headers: auth, body: "" };
  const first = await once(new Agent(), host, Number(port), mcp);
  const check = JSON.parse(JSON.parse(first.text).result.content[0].text) as { sessions: unknown[] };
  if (check.sessions.length !== SESSIONS)
    throw new Error(`expected ${SESSIONS} sessions, got ${check.sessions.length}`);
  const out: Record<string, unknown> = {
    sessions: SESSIONS,
    requestsPerLevel: N,
    node: process.version,
    cpus: cpus().length,
    loadavgBefore: loadavg().map((x) => +x.toFixed(2)),
    responseBytes: first.text.length,
  };
  for (const [name, req] of [
    ["mcp_sessions_list", mcp],
    ["get_sessions", rest],
  ] as const) {
    for (const c of LEVELS) out[`${name}_c${c}`] = await run(host, Number(port), req, c);
  }
  out.loadavgAfter = loadavg().map((x) => +x.toFixed(2));
  console.log(JSON.stringify(out, null, 2));
} finally {
  server.kill("SIGTERM");
}

type Req = { method: string; path: string; headers: Record<string, string>; body: string };

function once(agent: Agent, host: string, port: number, r: Req): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        method: r.method,
        path: r.path,
        headers: r.body ? { ...r.headers, "content-length": String(Buffer.byteLength(r.body)) } : r.headers,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve({ status: 200, text: Buffer.concat(chunks).toString() })
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(r.body || undefined);
  });
}

async function run(host: string, port: number, r: Req, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  for (let i = 0; i < 200; i++) await once(agent, host, port, r); // warm-up: JIT, SQLite page cache, sockets
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < N) {
        const s = performance.now();
        await once(agent, host, port, r);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p: number) => +lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)]!.toFixed(2);
  return { concurrency, rps: Math.round(lat.length / secs), p50: q(0.5), p99: q(0.99), max: q(1) };
}
