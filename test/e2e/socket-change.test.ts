// tmux.socket changed between two runs (issue 12, point 5): the restarted daemon ends its session on the
// old tmux server before it creates it on the new one, so exactly one live CLI runs the conversation.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { test } from "node:test";
import { makeHarness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";

/** Live processes whose command line names this conversation (the CLI runs with --session-id/--resume ID). */
function clisOf(conversation: string): string[] {
  return execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter(
      (l) =>
        l.includes(conversation) &&
        /(?:--resume|--session-id) /.test(l) &&
        !/\btmux\b/.test(l.split(" ").slice(1, 3).join(" ")),
    );
}

test(
  "tmux.socket changed and a restart: the old server's copy is ended, one live CLI per conversation",
  { timeout: 180_000 },
  async (t) => {
    const h = await makeHarness({ accounts: 1 });
    const newSocket = `${h.socket}-new`;
    t.after(async () => {
      spawnSync("tmux", ["-L", newSocket, "kill-server"]);
      await h.cleanup();
    });
    const d1 = await h.start();
    await waitFor(() => d1.sessions.get("dev")?.state === "idle", 90_000, "dev idle on the old server");
    const conversation = d1.sessions.get("dev")!.claudeSessionId!;
    await waitFor(() => clisOf(conversation).length === 1, 10_000, "one CLI");
    await d1.stop();

    h.configObject.tmux = { socket: newSocket };
    h.writeConfig();
    const d2 = await h.start();
    assert.equal(h.tmux("has-session", "-t", "=dev").code, 1, "the old server's session is gone");
    assert.equal(
      spawnSync("tmux", ["-L", newSocket, "has-session", "-t", "=dev"]).status,
      0,
      "the session runs on the new server",
    );
    await waitFor(() => d2.sessions.get("dev")?.state === "idle", 90_000, "dev idle on the new server");
    assert.equal(d2.sessions.get("dev")!.claudeSessionId, conversation, "the same conversation");
    // The old CLI got SIGHUP with its tmux session; wait for it to be gone, then exactly one is left.
    const live = await waitFor(
      () => {
        const l = clisOf(conversation);
        return l.length === 1 ? l : undefined;
      },
      15_000,
      "exactly one live CLI",
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}: ${clisOf(conversation).join("\n")}`);
    });
    assert.equal(live.length, 1);
    const ev = d2.store.tailEvents(200).find((e) => e.kind === "session.moved_from_old_tmux_server");
    assert.equal(ev?.session, "dev");
  },
);
