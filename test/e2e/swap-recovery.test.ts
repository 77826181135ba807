// Parking, restore after the tmux server dies, checkpoints, and an attached client during a swap.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as pty from "node-pty";
import { makeHarness, OffsetClock, type Harness } from "../support/harness.js";
import { typePrompt } from "../support/typing.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

const idle = (d: Daemon, name = "dev") => d.sessions.get(name)?.state === "idle";

describe("every account exhausted", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  const clock = new OffsetClock();
  before(async () => {
    h = await makeHarness({ accounts: 2, config: { quota: { reactivate_cooldown: "1s" } } });
    d = await h.start({ clock });
    await waitFor(() => idle(d), 60_000, "idle");
  });
  after(async () => h.cleanup());

  it("parks the session and resumes it (prompt resent) when the reset time passes", async () => {
    h.api.setCap(h.accountTokens.a!, 0);
    h.api.setCap(h.accountTokens.b!, 0);
    await typePrompt(h, "nobody can answer this yet");
    const parked = await waitFor(
      () => (d.sessions.get("dev")?.state === "parked" ? d.sessions.get("dev") : null),
      90_000,
      "parked",
    );
    // On failure, the events and the park's reason say how it got here.
    const events = (): string =>
      `parked: ${parked.stateReason}; ` +
      JSON.stringify(d.store.tailEvents(300).filter((e) => e.kind !== "account.home_prepared"));
    assert.equal(d.accounts.row("a").state, "exhausted", events());
    // B can't take the session: it refused the moved prompt (exhausted), or the usage poll had read B's
    // figures (100 %, cap 0) before A's refusal, and the park names them (no move to B is tried then).
    assert.ok(d.accounts.row("b").state === "exhausted" || /\bb: 5h 100% ≥/.test(parked.stateReason ?? ""), events());
    assert.ok(parked.parkedUntil && parked.parkedUntil > clock.now(), "resume time known from the limit message");
    assert.equal(parked.failedPrompt, "nobody can answer this yet");
    // The reset passes (the service resets its counters then).
    h.api.setCap(h.accountTokens.a!, 100_000);
    h.api.setCap(h.accountTokens.b!, 100_000);
    clock.advance(parked.parkedUntil - clock.now() + 2 * 3600_000);
    // Resumed with the continue note after the refused prompt, which the conversation still holds: the
    // model reads the prompt once (issue 13 point 10).
    const t = await waitFor(
      () =>
        h.api.turns().find((x) => x.status === 200 && x.allUserTexts.join("\n").includes("nobody can answer this yet")),
      90_000,
      "answered after reset",
    );
    assert.equal(
      t.allUserTexts.join("\n").split("nobody can answer this yet").length - 1,
      1,
      `${JSON.stringify(t.allUserTexts)}; ${events()}`,
    );
    assert.ok([h.accountTokens.a, h.accountTokens.b].includes(t.token!));
    await waitFor(() => idle(d) && d.sessions.get("dev")?.lastPromptAnswered, 30_000, "idle again");
    assert.ok(d.store.tailEvents(300).some((e) => e.kind === "session.parked"));
    assert.ok(d.store.tailEvents(300).some((e) => e.kind === "session.resume"));
  });
});

describe("restore and checkpoints", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({
      accounts: 2,
      dedicated: [{ name: "one" }, { name: "two", account: "b" }],
      config: { checkpoint: { keep: 3 } },
    });
    d = await h.start();
    await waitFor(() => idle(d, "one") && idle(d, "two"), 90_000, "both idle");
  });
  after(async () => h.cleanup());

  it("brings every session back with its conversation after tmux kill-server", async () => {
    await typePrompt(h, "remember one", "one");
    await typePrompt(h, "remember two", "two");
    await waitFor(
      () => d.sessions.get("one")?.lastPromptAnswered && d.sessions.get("two")?.lastPromptAnswered,
      30_000,
      "answered",
    );
    await waitFor(() => idle(d, "one") && idle(d, "two"), 30_000, "idle");
    // The CLI writes its transcript lazily (seen: seconds after Stop) and loses unwritten turns when
    // SIGHUP kills it: that is the CLI's window, not ours. Kill once the turns are on disk.
    const onDisk = (n: string) => {
      const p = d.sessions.get(n)?.transcriptPath;
      return !!p && existsSync(p) && readFileSync(p, "utf8").includes('"type":"assistant"');
    };
    await waitFor(() => onDisk("one") && onDisk("two"), 60_000, "transcripts written");
    await d.checkpoints.takeAll("test");
    const ids = { one: d.sessions.get("one")!.claudeSessionId, two: d.sessions.get("two")!.claudeSessionId };
    const accts = { one: d.sessions.get("one")!.account, two: d.sessions.get("two")!.account };
    const mark = d.store.tailEvents(1)[0]!.id;
    h.tmux("kill-server");
    for (const name of ["one", "two"] as const) {
      const ev = await waitFor(
        () =>
          d.store
            .eventsAfter(mark, 1000)
            .find((e) => e.kind === "hook.SessionStart" && e.session === name && e.data.source === "resume"),
        90_000,
        `${name} resumed`,
      );
      assert.equal(ev.data.session_id, ids[name]);
      assert.equal(ev.account, accts[name], "on its own account");
    }
    await waitFor(() => idle(d, "one") && idle(d, "two"), 30_000, "idle after restore");
    await typePrompt(h, "what did I ask", "two");
    const t = await waitFor(
      () => h.api.turns().find((x) => x.userText === "what did I ask"),
      30_000,
      "turn after restore",
    );
    assert.ok(t.allUserTexts.includes("remember two"), "conversation carried");
    assert.equal(t.token, h.accountTokens.b);
  });

  it("rotates checkpoints to keep, skips a corrupt one and uses the previous", async () => {
    for (let i = 0; i < 5; i++) await d.checkpoints.take("one", `test ${i}`);
    const dir = join(h.root, "state", "checkpoints", "one");
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort();
    assert.equal(files.length, 3, "pruned to keep");
    writeFileSync(join(dir, files[2]!), "{ not json");
    const cp = d.checkpoints.latest("one");
    assert.ok(cp, "previous checkpoint used");
    assert.equal(cp.reason, "test 3");
    assert.equal(cp.session.claudeSessionId, d.sessions.get("one")!.claudeSessionId);
    assert.ok(cp.pane?.visible.includes("remember one") || cp.pane?.scrollback.includes("remember one"));
    assert.ok(
      d.store.tailEvents(20).some((e) => e.kind === "checkpoint.corrupt"),
      "warned",
    );
  });

  it("keeps an attached tmux client attached through a swap", async () => {
    const client = pty.spawn("tmux", ["-L", h.socket, "attach-session", "-t", "=one"], {
      cols: 120,
      rows: 40,
      env: { ...process.env, TERM: "xterm-256color" },
    });
    let seen = "";
    client.onData((s) => (seen += s));
    try {
      await waitFor(() => h.tmux("list-clients", "-t", "=one").out.trim().length > 0, 10_000, "client attached");
      const from = d.sessions.get("one")!.account;
      const out = await d.swaps.swap({
        session: "one",
        to: from === "a" ? "b" : "a",
        reason: "attached test",
        urgent: false,
        hard: false,
      });
      assert.ok(out.ok, JSON.stringify(out));
      await waitFor(() => idle(d, "one"), 30_000, "idle after swap");
      assert.ok(h.tmux("list-clients", "-t", "=one").out.trim().length > 0, "still attached");
      seen = "";
      await typePrompt(h, "seen by the attached user", "one");
      // The client gets screen updates (escape sequences between the words): look for the words.
      // eslint-disable-next-line no-control-regex -- ESC starts the terminal escapes being stripped
      const plain = () => seen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, " ").replace(/\x1b[()][A-Z0-9]/g, "");
      await waitFor(() => plain().includes("ANSWER:") && plain().includes("attached"), 30_000, "client sees the CLI");
    } finally {
      client.kill();
    }
  });
});
