// Which Claude Code version the usage endpoint is told it is talking to. The endpoint refuses, with
// 429 and `retry-after: 0` for ever, any User-Agent that is not `claude-code/<version>` (reported:
// anthropics/claude-code 30930, 31021; see docs/notes/usage-endpoint.md), so we present the version of
// the CLI we actually run, read from `<claude.binary> --version`.
import { execFile } from "node:child_process";

/**
 * Used when the configured binary can't tell its version (missing, hangs, prints something else):
 * the CLI version this project pins and tests (package.json devDependency), a real release.
 */
export const FALLBACK_CLI_VERSION = "2.1.197";

/** The User-Agent prefix the usage endpoint accepts. */
export const USAGE_UA_PREFIX = "claude-code/";

export type CliVersionRead = { ok: true; version: string } | { ok: false; detail: string };

/**
 * The version at the start of `claude --version` output, e.g. "2.1.197 (Claude Code)" → "2.1.197"
 * (verified on 2.1.197 and 2.1.332). Null when the output does not start with a semver.
 */
export function parseCliVersion(out: string): string | null {
  const m = /^\s*v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)(?=\s|$)/.exec(out);
  return m ? m[1]! : null;
}

export function usageUserAgent(version: string): string {
  return `${USAGE_UA_PREFIX}${version}`;
}

export interface CliVersionOptions {
  /** The daemon's environment: only PATH and HOME are passed on (no secrets in the child). */
  env: NodeJS.ProcessEnv;
  /** `claude.env` from the config, layered on top (it may point the CLI elsewhere). */
  claudeEnv?: Record<string, string>;
  /** Kill the CLI after this long (ms). Default 10 s. */
  timeoutMs?: number;
}

/**
 * Runs `<binary> --version` without a shell (argv only) with a timeout and a small, secret-free
 * environment. Never throws: a missing binary, a timeout, a non-zero exit or unparseable output is
 * `{ ok: false, detail }` saying which.
 */
export function readCliVersion(binary: string, o: CliVersionOptions): Promise<CliVersionRead> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const env: Record<string, string> = {};
  for (const k of ["PATH", "HOME"] as const) if (o.env[k] !== undefined) env[k] = o.env[k]!;
  Object.assign(env, o.claudeEnv ?? {}, { DISABLE_AUTOUPDATER: "1" });
  return new Promise((resolve) => {
    execFile(
      binary,
      ["--version"],
      { env, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024, shell: false, encoding: "utf8" },
      (err, stdout) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
          if (e.code === "ENOENT") return resolve({ ok: false, detail: `${binary} not found` });
          if (e.killed)
            return resolve({ ok: false, detail: `${binary} --version gave no answer within ${timeoutMs} ms` });
          // execFile gives the exit status as a number in `code` (typed as an errno string only)
          const code: unknown = e.code;
          const why = typeof code === "number" ? `exit ${code}` : typeof code === "string" ? code : e.message;
          return resolve({ ok: false, detail: `${binary} --version failed (${why})` });
        }
        const v = parseCliVersion(stdout);
        resolve(
          v
            ? { ok: true, version: v }
            : {
                ok: false,
                detail: `${binary} --version printed ${JSON.stringify(stdout.slice(0, 80))}, not a version`,
              },
        );
      },
    );
  });
}

/**
 * The User-Agent the usage client sends, kept current: `refresh` re-reads the version (at start and on
 * every config reload: the binary may have changed or been upgraded in place) and falls back to
 * FALLBACK_CLI_VERSION when the binary can't tell, saying so in `detail`.
 */
export class UsageClientIdentity {
  private version = FALLBACK_CLI_VERSION;

  /** env: the daemon's environment (only PATH and HOME reach the CLI). */
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Why the fallback is in use; null when the version came from the binary. */
  detail: string | null = "version not read yet";

  userAgent(): string {
    return usageUserAgent(this.version);
  }

  cliVersion(): string {
    return this.version;
  }

  /** Returns what changed, for the caller to log: null when nothing did. */
  async refresh(
    binary: string,
    claudeEnv: Record<string, string> = {},
  ): Promise<{ userAgent: string; fallback: string | null } | null> {
    const r = await readCliVersion(binary, { env: this.env, claudeEnv, timeoutMs: this.timeoutMs });
    const version = r.ok ? r.version : FALLBACK_CLI_VERSION;
    const detail = r.ok ? null : r.detail;
    if (version === this.version && detail === this.detail) return null;
    this.version = version;
    this.detail = detail;
    return { userAgent: this.userAgent(), fallback: detail };
  }
}
