// The side effects of notifications: one HTTP POST or one program run. Small seam (`Deliver`) so the
// service's queue and retries are tested against a real local receiver and real programs, and its pure
// parts with fakes.
import { attemptSignal } from "../util/abort.js";
import { spawn } from "node:child_process";
import { retryableStatus } from "./gate.js";
import type { Delivery } from "./render.js";

/** ok, or why not and whether trying again may help. */
export type DeliveryResult = { ok: true } | { ok: false; error: string; retry: boolean };

export type Deliver = (d: Delivery, signal: AbortSignal) => Promise<DeliveryResult>;

export interface DeliverOptions {
  /** ms one attempt may take */
  timeoutMs: number;
  /** the environment a command or notify-send runs with (child-env.ts), or a function that gives it per run (it follows reloads) */
  env: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv);
}

/** The real deliverer: fetch for http, spawn (no shell) for exec. */
export function realDeliver(opts: DeliverOptions): Deliver {
  return async (d, signal) => {
    const { signal: timeout, done } = attemptSignal(signal, opts.timeoutMs);
    try {
      return d.via === "http"
        ? await post(d.url, d.headers, d.body, timeout)
        : await run(d.argv, d.stdin, typeof opts.env === "function" ? opts.env() : opts.env, timeout);
    } finally {
      done();
    }
  };
}

async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<DeliveryResult> {
  try {
    const r = await fetch(url, { method: "POST", headers, body, signal, redirect: "error" });
    await r.arrayBuffer().catch(() => undefined); // drain: the connection is reused
    if (r.ok) return { ok: true };
    return { ok: false, error: `HTTP ${r.status}`, retry: retryableStatus(r.status) };
  } catch (e) {
    // fetch's own message is "fetch failed"; the cause names the network error (ECONNREFUSED, …).
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = signal.aborted ? "timed out" : (cause?.code ?? cause?.message ?? (e as Error).message);
    return { ok: false, error: `request failed: ${why}`, retry: true };
  }
}

function run(argv: string[], stdin: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<DeliveryResult> {
  return new Promise((resolve) => {
    let stderr = "";
    let settled = false;
    const done = (r: DeliveryResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "ignore", "pipe"], env, signal, shell: false });
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") done({ ok: false, error: `${argv[0]} not found`, retry: false });
      else
        done({
          ok: false,
          error: signal.aborted ? `${argv[0]} timed out` : `${argv[0]}: ${e.code ?? e.message}`,
          retry: true,
        });
    });
    child.stderr.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-300)));
    child.stdin.on("error", () => {}); // a program that exits without reading stdin: its exit status tells
    child.stdin.end(stdin);
    child.on("close", (code, sig) => {
      if (code === 0) done({ ok: true });
      else
        done({
          ok: false,
          error: `${argv[0]} exited ${sig ?? code}${stderr.trim() ? `: ${stderr.trim().split("\n").pop()}` : ""}`,
          retry: true,
        });
    });
  });
}
