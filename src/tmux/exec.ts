import { spawn } from "node:child_process";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}
/** The one seam through which every tmux command runs: argv only, never a shell string. */
export type Exec = (argv: string[], opts?: { input?: string; timeoutMs?: number }) => Promise<ExecResult>;

/**
 * The variables a shell in a pane needs, and all the tmux client gets from the daemon. The tmux server's
 * global environment is the environment of the client that started it, and every pane can read it with
 * `tmux show-environment -g`: the bearer token, NOTIFY_SOCKET, auth overrides and anything else of the
 * daemon's must not be there. (`new-session` also copies the `update-environment` variables, SSH_AUTH_SOCK
 * and DISPLAY among them, from the client: they are not passed either.) What the CLI needs beyond these
 * goes into claude.env.
 */
export const SHELL_ENV = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "TERM",
  "COLORTERM",
  "TMPDIR",
  "TMUX_TMPDIR",
  "TZ",
  "XDG_RUNTIME_DIR",
];

/** `env` reduced to SHELL_ENV and LC_*. */
export function shellEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (v !== undefined && (SHELL_ENV.includes(k) || /^LC_[A-Z_]+$/.test(k))) out[k] = v;
  return out;
}

/** tmux run directly (no shell) with only `shellEnv(env)` of the daemon's environment. */
export function realExec(binary = "tmux", env: NodeJS.ProcessEnv = process.env): Exec {
  const clean = shellEnv(env);
  return (argv, opts) =>
    new Promise((resolve, reject) => {
      const child = spawn(binary, argv, { stdio: ["pipe", "pipe", "pipe"], env: clean });
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
