// Text stays text and no dialog is answered by accident, with the real CLI (both matrix versions:
// CF_TEST_CLI=latest for the newest) against the stand-in: issue 13 points 1, 2, 3 and 9.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Daemon } from "../../src/daemon.js";
import { classifyPane } from "../../src/sessions/pane-classify.js";
import { makeHarness, type Harness } from "../support/harness.js";
import type { RecordedRequest } from "../support/stand-in-api.js";
import { dropFiles } from "../support/inbox.js";
import { startOnePool } from "../support/pool.js";
import { waitFor } from "../support/wait.js";

function hasToolResult(r: RecordedRequest): boolean {
  const last = (r.body?.messages as { content?: unknown }[] | undefined)?.at(-1);
  return Array.isArray(last?.content) && (last.content as { type?: string }[]).some((b) => b.type === "tool_result");
}

describe("cli input (real CLI)", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  const pane = () => h.tmux("capture-pane", "-p", "-t", "=dev:").out;
  const idle = () =>
    waitFor(() => d.sessions.get("dev")?.state === "idle" && !classifyPane(pane(), Date.now()).busy, 30_000, "idle");

  before(async () => {
    // default permission mode: 2.1.332's auto mode would stop the Bash call at its own dialog behind the stand-in.
    h = await makeHarness({ accounts: 1, config: { claude: { permission_mode: "default" } } });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "dev idle");
  });
  after(async () => h?.cleanup());

  it("a leading ! reaches the model as text and runs nothing", async () => {
    const bang = join(h.root, "bang");
    const text = `!touch ${bang}`;
    const mark = h.api.requests.length;
    assert.deepEqual(await d.api.send({ session: "dev", text }), { ok: true, session: "dev" });
    const turn = await h.api.waitForRequest((r) => r.isTurn && r.userText === text, 30_000, mark);
    assert.equal(turn.userText, text);
    await idle();
    assert.equal(existsSync(bang), false, "no shell ran it");
    // Still in prompt mode: the next prompt is a prompt too.
    await d.api.send({ session: "dev", text: "after the bang" });
    await h.api.waitForRequest((r) => r.isTurn && r.userText === "after the bang", 30_000, mark);
    await idle();
  });

  it("a CR inside one prompt is a newline; control characters and slash commands are refused with a reason", async () => {
    const mark = h.api.requests.length;
    await d.api.send({ session: "dev", text: "cr-one\rcr-two\r\ncr-three" });
    const turn = await h.api.waitForRequest((r) => r.isTurn && r.userText.includes("cr-one"), 30_000, mark);
    assert.equal(turn.userText, "cr-one\ncr-two\ncr-three");
    await idle();
    await assert.rejects(
      d.api.send({ session: "dev", text: "ctl-one\rctl-two\u001b\u0015 ctl-end \u001b[201~ tail" }),
      /control character \(ESC at offset 15\)/,
    );
    await assert.rejects(d.api.send({ session: "dev", text: "/logout" }), /slash command/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(
      h.api.turns().filter((t) => t.userText.includes("ctl-") || t.userText.includes("logout")).length,
      0,
      "nothing of them reached the model",
    );
    assert.equal(h.api.turns().filter((t) => t.userText.includes("cr-one")).length, 1, "one prompt, once");
  });

  it("the command operation runs an allowed slash command and refuses others", async () => {
    await assert.rejects(d.api.command({ session: "dev", command: "/logout" }), /not an allowed command/);
    const viaCli = await h.cli("command", "dev", "/logout");
    assert.notEqual(viaCli.code, 0);
    assert.doesNotMatch(viaCli.out, /ran \/logout/);
    const before = d.sessions.get("dev")!.claudeSessionId;
    const r = await h.cli("command", "dev", "/clear");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /ran \/clear in dev; the CLI took it/);
    await waitFor(() => d.sessions.get("dev")!.claudeSessionId !== before, 30_000, "new conversation after /clear");
    await idle();
  });

  it("with a permission dialog open, send is refused with dialog open: permission and the tool call is not approved", async () => {
    const approved = join(h.root, "approved");
    h.api.setReplier((r) => {
      if (hasToolResult(r)) return { text: "tool ran" };
      if (r.userText.includes("RUN-BASH"))
        return { toolUse: { name: "Bash", input: { command: `touch ${approved}`, description: "touch a file" } } };
      return undefined;
    });
    await d.api.send({ session: "dev", text: "RUN-BASH please" });
    await waitFor(() => classifyPane(pane(), Date.now()).dialog === "permission", 30_000, "permission dialog open");
    await assert.rejects(
      d.api.send({ session: "dev", text: "hello while the dialog is open" }),
      /dialog open: permission/,
    );
    assert.equal(existsSync(approved), false, "the tool call was not approved");
    assert.equal(classifyPane(pane(), Date.now()).dialog, "permission", "the dialog is still open, untouched");
    const ev = d.store.tailEvents(50, { session: "dev", kindPrefix: "session.input_refused" })[0];
    assert.equal(ev?.data.reason, "dialog open: permission");
    assert.match(String(d.sessions.get("dev")!.stateReason), /^waiting: permission dialog/);
    const st = await h.cli("status", "--json");
    assert.match(st.out, /waiting: permission dialog/);
    h.api.setReplier(undefined);
    h.tmux("send-keys", "-t", "=dev:", "Escape");
    await waitFor(() => classifyPane(pane(), Date.now()).dialog === null, 10_000, "dialog closed");
    assert.equal(existsSync(approved), false);
  });
});

// 2.1.332 starts in auto mode, whose check of a tool call runs on the service: behind the stand-in the
// first Bash call stops at "Auto mode can't check actions in this session" (issue 13 point 9). With no
// claude.permission_mode the session must say so instead of looking busy; a send is refused.
describe(
  "auto-mode check dialog (newest CLI, no permission_mode)",
  { timeout: 240_000, skip: process.env.CF_TEST_CLI !== "latest" && "2.1.332 only (CF_TEST_CLI=latest)" },
  () => {
    let h: Harness;
    let d: Daemon;
    const pane = () => h.tmux("capture-pane", "-p", "-t", "=dev:").out;
    before(async () => {
      h = await makeHarness({ accounts: 1 });
      d = await h.start();
      await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "dev idle");
    });
    after(async () => h?.cleanup());

    it("a Bash call leaves the session waiting: auto-mode check dialog, never silently busy", async () => {
      const touched = join(h.root, "auto-touched");
      h.api.setReplier((r) => {
        if (hasToolResult(r)) return { text: "tool ran" };
        if (r.userText.includes("RUN-BASH"))
          return { toolUse: { name: "Bash", input: { command: `touch ${touched}`, description: "touch a file" } } };
        return undefined;
      });
      await d.api.send({ session: "dev", text: "RUN-BASH in auto mode" });
      await waitFor(
        () => classifyPane(pane(), Date.now()).dialog === "auto_mode_check",
        30_000,
        "auto-mode check dialog",
      );
      // The sweep notes it for a busy session.
      await waitFor(
        () => /^waiting: auto-mode check dialog/.test(d.sessions.get("dev")?.stateReason ?? ""),
        15_000,
        "status says waiting",
      );
      const st = await h.cli("status");
      assert.match(st.out, /waiting: auto-mode check dialog/);
      await assert.rejects(d.api.send({ session: "dev", text: "hello" }), /dialog open: auto_mode_check/);
      assert.equal(existsSync(touched), false);
      h.api.setReplier(undefined);
    });
  },
);

describe("an inbox task starting with !", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => ({ h, d } = await startOnePool(1)));
  after(async () => h?.cleanup());

  it("reaches the model as the task's text and runs nothing", async () => {
    const bang = join(h.root, "bang-task");
    const prompt = `!touch ${bang}`;
    dropFiles(join(h.root, "state", "inbox"), [{ name: "bang.md", prompt, front: { id: "bang-1" } }]);
    const t = await waitFor(
      () => {
        const x = d.inbox.tasks.get("bang-1");
        return x && x.state !== "queued" && x.state !== "running" ? x : null;
      },
      120_000,
      "task ended",
    );
    assert.equal(t.state, "done", `task ${t.state}: ${t.error}`);
    assert.equal(
      h.api.turns().filter((r) => r.userText === prompt).length,
      1,
      "the model got the text as a prompt, once",
    );
    assert.equal(existsSync(bang), false, "no shell ran it");
  });
});
