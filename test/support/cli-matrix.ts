// The CLI matrix: end-to-end tests run against the pinned Claude Code (the `@anthropic-ai/claude-code`
// devDependency) and the newest one on the npm registry (the `claude-code-latest` alias). Both packages
// declare a `claude` bin, so which one `node_modules/.bin/claude` points at depends on npm's install
// order; tests never use it. Each version gets a folder of its own holding a `claude` symlink to that
// package's native binary, so a test can put it on PATH as `claude` too.
import { existsSync, mkdirSync, readlinkSync, realpathSync, symlinkSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export type CliVersion = "pinned" | "latest";

const PACKAGE_DIR: Record<CliVersion, string> = {
  pinned: join(REPO, "node_modules", "@anthropic-ai", "claude-code"),
  latest: join(REPO, "node_modules", "claude-code-latest"),
};

/** The version under test: `CF_TEST_CLI=latest` selects the newest, anything else the pinned one. */
export function selectedCli(): CliVersion {
  return process.env.CF_TEST_CLI === "latest" ? "latest" : "pinned";
}

/**
 * Absolute path of a `claude` for `which` (default: the selected one): `node_modules/.cf-cli/<which>/claude`,
 * a symlink to `<package>/bin/claude.exe` (the native binary the package's postinstall put there).
 * Throws when that package is not installed.
 */
export function cliBinary(which: CliVersion = selectedCli()): string {
  const packaged = join(PACKAGE_DIR[which], "bin", "claude.exe");
  if (!existsSync(packaged)) throw new Error(`Claude Code (${which}) is not installed at ${packaged}: run npm ci`);
  // The real path, so checkouts sharing one node_modules (git worktrees with it symlinked) agree on it.
  const target = realpathSync(packaged);
  const dir = join(REPO, "node_modules", ".cf-cli", which);
  const link = join(dir, "claude");
  mkdirSync(dir, { recursive: true });
  let current: string | null = null;
  try {
    current = readlinkSync(link);
  } catch {
    /* not there yet */
  }
  if (current !== target) {
    try {
      if (current !== null) unlinkSync(link);
    } catch (e) {
      // Another test process replaced it at the same moment.
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    try {
      symlinkSync(target, link);
    } catch (e) {
      // Another test process made it at the same moment.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  return link;
}

/**
 * The text the user pasted, from what the model received: CLI 2.1.332 wraps a long paste as
 * `\n\n<pasted_content id="5c76">\n…\n</pasted_content id="5c76">\n` (verified here, see
 * docs/notes/cli-2.1.332.md); 2.1.197 sends it as it is. Text without the wrapper is returned unchanged.
 */
export function unwrapPasted(userText: string): string {
  const m = /^\s*<pasted_content id="([^"]*)">\n([\s\S]*)\n<\/pasted_content id="\1">\s*$/.exec(userText);
  return m ? m[2]! : userText;
}
