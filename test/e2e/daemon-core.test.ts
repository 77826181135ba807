// The daemon core end to end: real Claude Code CLI, real tmux (private socket), stand-in API.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { unwrapPasted } from "../support/cli-matrix.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

function typeIntoPane(h: Harness, name: string, text: string): void {
  assert.equal(h.tmux("send-keys", "-t", `=${name}:`, "-l", "--", text).code, 0);
}
async function pressEnterWhenShown(h: Harness, name: string, marker: string): Promise<void> {
  await waitFor(
    () => h.tmux("capture-pane", "-p", "-t", `=${name}:`).out.includes(marker),
    10_000,
    "typed text on screen",
  );
  h.tmux("send-keys", "-t", `=${name}:`, "Enter");
}

describe("daemon core with the real CLI", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2 });
    d = await h.start();
  });
  after(async () => h.cleanup());

  it("starts the dedicated session on the preferred account and answers a prompt typed into the pane", async () => {
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "session idle");
    typeIntoPane(h, "dev", "what is two plus two");
    await pressEnterWhenShown(h, "dev", "what is two plus two");
    await waitFor(
      () => h.tmux("capture-pane", "-p", "-t", "=dev:").out.includes("ANSWER: what is two plus two"),
      30_000,
      "answer in pane",
    );
    await waitFor(
      () => d.sessions.get("dev")?.lastPromptAnswered && d.sessions.get("dev")?.state === "idle",
      10_000,
      "answered + idle",
    );
    const turn = h.api.turns().find((r) => r.userText === "what is two plus two");
    assert.ok(turn, "stand-in saw the prompt");
    assert.equal(turn.token, h.accountTokens.a, "sent with account a's token");

    const st = await h.cli("status", "--json");
    assert.equal(st.code, 0, st.err);
    const status = JSON.parse(st.out) as {
      sessions: { name: string; state: string; account: string; claudeSessionId: string }[];
    };
    const dev = status.sessions.find((s) => s.name === "dev")!;
    assert.equal(dev.state, "idle");
    assert.equal(dev.account, "a");
    assert.match(dev.claudeSessionId, /^[0-9a-f-]{36}$/);
    assert.equal(dev.claudeSessionId, d.sessions.get("dev")!.claudeSessionId);
    // The conversation the CLI writes is the one the daemon tracks.
    const start = d.store.tailEvents(200).find((e) => e.kind === "hook.SessionStart");
    assert.equal(start?.data.session_id, dev.claudeSessionId);
  });

  it("sends text with quotes, $(), backticks, ;, newlines and a 10 KB paste byte for byte, executing nothing", async () => {
    const canary = join(h.root, "pwned");
    const nasty = `it's "quoted" $(touch ${canary}) \`touch ${canary}\` ; touch ${canary} && echo $HOME | cat`;
    let r = await d.sessions.prompts.send("dev", nasty, { confirmTimeoutMs: 20_000 });
    assert.ok(r.ok, JSON.stringify(r));
    await waitFor(
      () => h.api.turns().find((t) => t.userText === nasty),
      30_000,
      "nasty prompt reached the API verbatim",
    );
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle");

    const lines: string[] = [];
    for (let i = 0; lines.join("\n").length < 10_240; i++)
      lines.push(`line ${i}: 'single' "double" $(whoami) \`id\` ; | & > < \\ end`);
    // (no tabs: the CLI's input box turns a pasted tab into spaces, which is its doing, not the transport's)
    const big = lines.join("\n");
    r = await d.sessions.prompts.send("dev", big, { confirmTimeoutMs: 30_000 });
    assert.ok(r.ok, JSON.stringify(r));
    // CLI 2.1.332 hands a long paste to the model wrapped in <pasted_content id="…"> tags (its doing:
    // docs/notes/cli-2.1.332.md); the text inside must be ours byte for byte.
    const got = await waitFor(
      () => h.api.turns().find((t) => unwrapPasted(t.userText).startsWith("line 0:") && t.userText.length > 10_000),
      30_000,
      "10 KB paste at the API",
    );
    assert.equal(unwrapPasted(got.userText), big);
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle after paste");
    assert.equal(spawnSync("test", ["-e", canary]).status, 1, "no shell ran any of it");
  });

  it("restarts a CLI killed inside the pane with --resume and the same conversation", async () => {
    const id = d.sessions.get("dev")!.claudeSessionId;
    const pid = Number(h.tmux("display-message", "-p", "-t", "=dev:", "#{pane_pid}").out.trim());
    assert.ok(pid > 0);
    const marker = d.store.tailEvents(1)[0]!.id;
    process.kill(pid, "SIGKILL");
    const resumed = await waitFor(
      () => d.store.eventsAfter(marker, 500).find((e) => e.kind === "hook.SessionStart" && e.data.source === "resume"),
      60_000,
      "SessionStart resume after kill",
    );
    assert.equal(resumed.data.session_id, id);
    assert.ok(
      d.store
        .eventsAfter(marker, 500)
        .some((e) => e.kind === "session.launch" && (e.data as { resume: boolean }).resume),
    );
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle after restart");
    // and the conversation carries on: the next request holds the earlier turns
    const r = await d.sessions.prompts.send("dev", "after the restart", { confirmTimeoutMs: 20_000 });
    assert.ok(r.ok);
    const t = await waitFor(
      () => h.api.turns().find((x) => x.userText === "after the restart"),
      30_000,
      "post-restart turn",
    );
    assert.ok(t.allUserTexts.includes("what is two plus two"), "earlier conversation carried");
  });
});

describe("daemon SIGKILL and restart", { timeout: 240_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await makeHarness({ accounts: 2 });
  });
  after(async () => h.cleanup());

  it("adopts the same tmux sessions, applies events spooled while it was down", async () => {
    let child = await h.spawnDaemon();
    const statusOf = async () => {
      const r = await h.cli("status", "--json");
      return r.code === 0
        ? (JSON.parse(r.out) as {
            sessions: {
              name: string;
              state: string;
              account: string;
              claudeSessionId: string;
              lastPrompt: string | null;
            }[];
          })
        : null;
    };
    const before1 = await waitFor(
      async () => (await statusOf())?.sessions.find((s) => s.name === "dev" && s.state === "idle"),
      90_000,
      "idle via status",
    );
    child.kill("SIGKILL");
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, 10_000, "daemon dead");

    // While the daemon is down the user keeps working: the hook spools the events.
    typeIntoPane(h, "dev", "typed while the daemon was down");
    await pressEnterWhenShown(h, "dev", "typed while the daemon was down");
    await waitFor(
      () => h.api.turns().find((t) => t.userText === "typed while the daemon was down"),
      30_000,
      "turn while down",
    );
    // and an event from an older hook run lies in the spool too
    const spool = join(h.root, "state", "spool");
    writeFileSync(
      join(spool, `${Date.now()}000000.1.dev.a.Notification.json`),
      JSON.stringify({ notification_type: "idle_prompt", session_id: before1.claudeSessionId }),
    );

    child = await h.spawnDaemon();
    const after1 = await waitFor(
      async () => {
        const s = (await statusOf())?.sessions.find((x) => x.name === "dev");
        return s && s.lastPrompt === "typed while the daemon was down" && s.state === "idle" ? s : null;
      },
      60_000,
      "spooled events applied after restart",
    );
    assert.equal(after1.account, before1.account);
    assert.equal(after1.claudeSessionId, before1.claudeSessionId);
    const sessions = h.tmux("list-sessions", "-F", "#{session_name}").out.trim().split("\n");
    assert.deepEqual(sessions, ["dev"], "no duplicate tmux session");
    assert.equal(h.tmux("list-panes", "-t", "=dev:", "-F", "#{pane_id}").out.trim().split("\n").length, 1);
    child.kill("SIGTERM");
    await waitFor(() => child.exitCode !== null, 15_000, "clean exit");
    assert.equal(child.exitCode, 0);
    assert.equal(h.tmux("has-session", "-t", "=dev").code, 0, "SIGTERM leaves the tmux session running");
  });
});
