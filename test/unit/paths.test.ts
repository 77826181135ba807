// config/paths.ts is the single source of the on-disk layout (issue 15 point 3): the names, and a guard that no
// other file of src/ builds a path under the state dir itself.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { stateLayout } from "../../src/config/paths.js";

const SRC = join(import.meta.dirname, "..", "..", "src");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("the on-disk layout", () => {
  it("names every entry of the state dir (docs/architecture.md, operations.md list the same)", () => {
    const l = stateLayout("/s");
    assert.deepEqual(l, {
      stateDir: "/s",
      stateDb: "/s/state.db",
      lockFile: "/s/daemon.lock",
      pidFile: "/s/daemon.pid",
      spoolDir: "/s/spool",
      spoolBadDir: "/s/spool/bad",
      controlSocket: "/s/control.sock",
      hookFiles: { script: "/s/hook.sh", settings: "/s/hooks-settings.json" },
      statusLineDir: "/s/statusline",
      launchDir: "/s/launch",
      loginLedger: "/s/logins.json",
      tmuxSocketRecord: "/s/tmux-socket",
      worktreeDir: "/s/worktrees",
      defaults: { sharedProjectsDir: "/s/shared/projects", checkpointDir: "/s/checkpoints", inboxDir: "/s/inbox" },
    });
  });

  it("no other file of src/ joins a name onto the state dir", () => {
    const allowed = new Set(["config/paths.ts"]);
    // The state dir, and the inbox's own processed/ and rejected/ folders.
    const building =
      /join\([^)]*\b(state_dir|stateDir)\b|\$\{[^}]*\b(state_dir|stateDir)\}\/|join\([^)]*\b(inbox\.dir|inboxDir|opts\.dir)\b[^)]*"(processed|rejected)"/;
    const offenders = tsFiles(SRC)
      .filter((f) => !allowed.has(relative(SRC, f)))
      .flatMap((f) =>
        readFileSync(f, "utf8")
          .split("\n")
          .map((line, i) => ({ at: `${relative(SRC, f)}:${i + 1}`, line }))
          .filter((x) => building.test(x.line)),
      );
    assert.deepEqual(offenders, []);
  });
});
