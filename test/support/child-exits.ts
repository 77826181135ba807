// Runs a TypeScript module text in a child node process and asks whether it exits on its own: what a test
// of "stop() leaves nothing open" needs (a watcher or timer left behind keeps a process alive).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

export interface ChildRun {
  /** the exit code, or "timeout" when it was still running at the deadline (then killed) */
  exited: number | null | "timeout";
  out: string;
  err: string;
}

/** Runs `code` (ESM, through tsx, cwd the repository) and waits up to `deadlineMs` for it to exit. */
export async function runChildToExit(code: string, deadlineMs = 30_000): Promise<ChildRun> {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    new Promise<number | null>((r) => child.on("exit", (c) => r(c))),
    new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), deadlineMs))),
  ]);
  clearTimeout(timer);
  if (exited === "timeout") child.kill("SIGKILL");
  return { exited, out, err };
}
