// Issue 15.2, kept so: services that read a session's pane or type into it get the small `Pane` interface
// (src/tmux/pane.ts), handed to them by the daemon, not the whole `Tmux` reached through the session service
// (`sessions.tmux`, `layer.tmux`). A source check over src/: outside the allowlist, no file imports
// tmux/tmux.ts, and none reaches a `.tmux` member (the config's `tmux.socket` aside).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

/** Who may use `Tmux` itself, and why (a path ending in "/" is a folder). */
const ALLOWED: Record<string, string> = {
  "tmux/": "the seam itself and the Pane adapter over it",
  "sessions/session-service.ts": "the sessions' lifecycle: creates, respawns, kills and lists tmux sessions",
  "daemon.ts": "the composition root: builds the one Tmux and the Pane over it",
  "reload.ts": "carries the config's `tmux` section over (`prev.tmux`), no Tmux",
  "ops/socket-change.ts": "ends the sessions left on an old tmux server (a Tmux on the old socket)",
  "cli/": "one-shot commands: `stop` ends the sessions, `attach` builds tmux's argv",
};

const IMPORTS_TMUX = /\bfrom\s+["'](?:[^"']*\/)?tmux\/tmux\.js["']|\bfrom\s+["']\.\/tmux\.js["']/;
const REACHES_TMUX = /\.tmux\b(?!\.socket\b)/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const allowed = (path: string) => Object.keys(ALLOWED).some((a) => (a.endsWith("/") ? path.startsWith(a) : path === a));

/** `file:line: text` of every import of tmux/tmux.ts or `.tmux` reach outside the allowlist. */
function strayUses(sources: { path: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { path, text } of sources) {
    if (allowed(path)) continue;
    text.split("\n").forEach((line, i) => {
      if (IMPORTS_TMUX.test(line) || REACHES_TMUX.test(line)) out.push(`${path}:${i + 1}: ${line.trim()}`);
    });
  }
  return out;
}

describe("services reach the pane through Pane, not Tmux", () => {
  it("no file under src/ outside the allowlist imports tmux/tmux.ts or reaches a `.tmux`", () => {
    const sources = files(SRC).map((f) => ({ path: relative(SRC, f), text: readFileSync(f, "utf8") }));
    assert.ok(sources.some((s) => s.path === "tmux/pane.ts"));
    assert.deepEqual(strayUses(sources), []);
  });
  it("the check finds `sessions.tmux`, `layer.tmux` and an import of tmux/tmux.ts elsewhere", () => {
    const found = strayUses([
      { path: "sessions/swap.ts", text: "x\n    await this.sessions.tmux.sendKeys(name, 'Escape');" },
      { path: "inbox/pool.ts", text: "const tmux = this.layer.tmux;" },
      { path: "quota/x.ts", text: 'import type { Tmux } from "../tmux/tmux.js";' },
      { path: "config/diff.ts", text: 'if (prev.tmux.socket !== next.tmux.socket) needsRestart.push("tmux.socket");' },
      { path: "sessions/session-service.ts", text: "await this.tmux.killSession(name);" },
      { path: "cli/stop-command.ts", text: 'import { Tmux } from "../tmux/tmux.js";' },
    ]);
    assert.deepEqual(
      found.map((f) => f.split(":").slice(0, 2).join(":")),
      ["sessions/swap.ts:2", "inbox/pool.ts:1", "quota/x.ts:1"],
    );
  });
});
