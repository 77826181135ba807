// Which Claude Code CLI the daemon runs: `claude.binary` from the config when it is a path or a name
// found on PATH; for the default name `claude` not found on PATH, the CLI installed with this package
// (the pinned @anthropic-ai/claude-code of the install: its native binary, never node_modules/.bin/claude,
// which the newest CLI installed beside it for the tests' CLI matrix may claim: docs/notes/cli-2.1.332.md).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { which } from "./unit-file.js";

/** How every "CLI missing" problem starts (a session's state reason begins with it). */
export const CLI_MISSING = "Claude Code CLI not found";

export type CliResolution =
  { ok: true; path: string; source: "config" | "path" | "package" } | { ok: false; problem: string; fix: string };

/** The install root: the nearest folder above this module holding claude-failover's package.json, or null. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown };
      if (pkg.name === "claude-failover") return dir;
    } catch {
      /* not here */
    }
    if (dirname(dir) === dir) return null;
  }
}

/** The package's own version (package.json), "unknown" if it cannot be read. */
export function packageVersion(root = packageRoot()): string {
  try {
    return String(
      (JSON.parse(readFileSync(join(root ?? "", "package.json"), "utf8")) as { version?: unknown }).version ??
        "unknown",
    );
  } catch {
    return "unknown";
  }
}

/** The pinned CLI of the install (node_modules/@anthropic-ai/claude-code/bin/claude.exe), if it exists. */
export function packagedCli(root = packageRoot()): string | null {
  if (!root) return null;
  const p = join(root, "node_modules", "@anthropic-ai", "claude-code", "bin", "claude.exe");
  return existsSync(p) ? p : null;
}

/**
 * Resolves `claude.binary` to an absolute path. A path (with "/") must exist and be executable; a
 * bare name is looked up on `pathEnv`; only the default name `claude` falls back to the packaged CLI.
 * Pure apart from file-system reads. The problem/fix texts are what status and doctor show.
 */
export function resolveCli(
  binary: string,
  pathEnv: string | undefined,
  packaged: string | null = packagedCli(),
): CliResolution {
  const found = which(binary, pathEnv);
  if (found) return { ok: true, path: found, source: binary.includes("/") ? "config" : "path" };
  if (binary === "claude" && packaged) return { ok: true, path: packaged, source: "package" };
  const fix =
    "install it (npm install -g @anthropic-ai/claude-code, or run scripts/quickstart.sh again: it installs the pinned one) " +
    "or set claude.binary in the config to its absolute path; then `kill -HUP` the daemon (or restart it)";
  if (binary.includes("/"))
    return { ok: false, problem: `${CLI_MISSING}: ${binary} does not exist or is not executable`, fix };
  return {
    ok: false,
    problem: `${CLI_MISSING}: \`${binary}\` is not on PATH${binary === "claude" ? " and no CLI was installed with claude-failover" : ""}`,
    fix,
  };
}
