import { spawn } from "node:child_process";

export interface ExecResult { code: number; stdout: string; stderr: string }
/** The one seam through which every tmux command runs: argv only, never a shell string. */
export type Exec = (argv: string[], opts?: { input?: string; timeoutMs?: number }) => Promise<ExecResult>;

export function realExec(binary = "tmux"): Exec {
  return (argv, opts) =>
    new Promise((resolve, reject) => {
      const child = spawn(binary, argv, { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), opts?.timeoutMs ?? 10_000);
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr });
      });
      child.stdin.on("error", () => {});
      child.stdin.end(opts?.input ?? "");
    });
}
