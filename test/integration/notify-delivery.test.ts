// Notifications from a real daemon (real Claude Code CLI in a private tmux server against the stand-in
// API) to real HTTP receivers on 127.0.0.1: a JSON webhook, an ntfy stand-in, and a webhook that answers
// 500 before it takes one; a command target; a pool session stuck on a permission dialog.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeHarness, OffsetClock, type Harness } from "../support/harness.js";
import type { RecordedRequest } from "../support/stand-in-api.js";
import { typePrompt } from "../support/typing.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

interface Received {
  path: string;
  at: number;
  headers: IncomingMessage["headers"];
  body: string;
  status: number;
}

/** A receiver on 127.0.0.1:0 that records every POST; `failFirst[path]` requests to a path get 500 first. */
async function receiver(
  failFirst: Record<string, number> = {},
): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const seen: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const path = req.url ?? "/";
      seen[path] = (seen[path] ?? 0) + 1;
      const status = seen[path] <= (failFirst[path] ?? 0) ? 500 : 200;
      got.push({ path, at: Date.now(), headers: req.headers, body, status });
      res.writeHead(status).end(status === 200 ? "ok" : "boom");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    got,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const events = (got: Received[], path: string, status = 200) =>
  got
    .filter((g) => g.path === path && g.status === status)
    .map((g) =>
      g.path.startsWith("/ntfy") ? String(g.headers.tags) : (JSON.parse(g.body) as { event: string }).event,
    );

describe("notifications for a swap, a park and a resume", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let rx: Awaited<ReturnType<typeof receiver>>;
  const clock = new OffsetClock();
  const wanted = ["swap.done", "session.parked", "session.resume"];
  before(async () => {
    rx = await receiver({ "/flaky": 1 });
    h = await makeHarness({
      accounts: 2,
      config: {
        quota: { reactivate_cooldown: "1s" },
        notify: {
          targets: [
            { name: "hook", kind: "webhook", url: `${rx.url}/hook`, events: wanted },
            { name: "phone", kind: "ntfy", url: `${rx.url}/ntfy/cf-topic`, events: wanted },
            { name: "flaky", kind: "webhook", url: `${rx.url}/flaky`, events: ["swap.done"] },
            {
              name: "log",
              kind: "command",
              argv: [
                process.execPath,
                "-e",
                "const fs = require('fs'); fs.appendFileSync(process.argv[1], fs.readFileSync(0) + 'token in env: ' + ('CLAUDE_FAILOVER_TOKEN' in process.env) + '\\n')",
                "NOTIFY_OUT",
              ],
              events: ["swap.done"],
            },
          ],
        },
      },
    });
    // The command's output file lives in the test's temp dir.
    const n = h.configObject.notify as { targets: { argv?: string[] }[] };
    n.targets[3]!.argv![3] = join(h.root, "command-out.jsonl");
    h.writeConfig();
    d = await h.start({ clock });
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => {
    await h?.cleanup();
    await rx?.close();
  });

  it("a hard-limit swap: one notification per target; the 500 is retried and does not hold up the swap", async () => {
    await typePrompt(h, "first question");
    await waitFor(
      () => d.sessions.get("dev")?.lastPromptAnswered && d.sessions.get("dev")?.state === "idle",
      30_000,
      "first answered",
    );
    h.api.setCap(h.accountTokens.a!, h.api.usedTurns(h.accountTokens.a!), Math.floor(Date.now() / 1000) + 3 * 3600);
    await typePrompt(h, "second question");
    await waitFor(() => d.store.lastSwap("dev")?.outcome === "ok", 60_000, "swap done");
    const sw = d.store.lastSwap("dev")!;
    await waitFor(() => events(rx.got, "/flaky").length === 1, 15_000, "flaky target took it on the retry");
    await waitFor(
      () => events(rx.got, "/hook").length === 1 && events(rx.got, "/ntfy/cf-topic").length === 1,
      10_000,
      "hook and ntfy",
    );
    assert.deepEqual(events(rx.got, "/hook"), ["swap.done"]);
    assert.deepEqual(events(rx.got, "/ntfy/cf-topic"), ["swap.done"]);
    assert.deepEqual(events(rx.got, "/flaky", 500), ["swap.done"], "the first attempt got 500");
    const ok = rx.got.find((g) => g.path === "/flaky" && g.status === 200)!;
    const failed = rx.got.find((g) => g.path === "/flaky" && g.status === 500)!;
    assert.ok(ok.at - failed.at >= 900, `retried after the 1 s backoff (${ok.at - failed.at} ms)`);
    // The swap was over before the failing target was even answered for good: delivery is off its path.
    assert.ok(sw.endedAt! <= ok.at, "swap ended before the retried delivery");
    const body = JSON.parse(rx.got.find((g) => g.path === "/hook")!.body) as Record<string, unknown>;
    assert.equal(body.session, "dev");
    assert.equal(body.title, "dev moved from a to b");
    assert.deepEqual((body.data as { from: string; to: string }).to, "b");
    const ntfy = rx.got.find((g) => g.path === "/ntfy/cf-topic")!;
    assert.equal(ntfy.headers.title, "dev moved from a to b");
    assert.match(ntfy.body, /^Swap \d+ done in /);
    await waitFor(
      () => {
        try {
          return readFileSync(join(h.root, "command-out.jsonl"), "utf8").includes("swap.done");
        } catch {
          return false;
        }
      },
      10_000,
      "command got the event on stdin",
    );
    const out = readFileSync(join(h.root, "command-out.jsonl"), "utf8");
    assert.equal((JSON.parse(out.split("\n")[0]!) as { event: string; session: string }).session, "dev");
    assert.match(out, /^token in env: false$/m, "the command runs without the bearer token");
    const st = JSON.parse((await h.cli("status", "--json")).out) as {
      notify: { targets: { name: string; sent: number; failed: number; lastError: string | null }[] };
    };
    const flaky = st.notify.targets.find((t) => t.name === "flaky")!;
    assert.equal(flaky.sent, 1);
    assert.equal(flaky.failed, 0);
    assert.equal(flaky.lastError, "HTTP 500");
  });

  it("every account spent: one park notification with its resume time, one resume notification", async () => {
    h.api.setCap(h.accountTokens.b!, 0);
    await typePrompt(h, "nobody can answer this yet");
    const parked = await waitFor(
      () => (d.sessions.get("dev")?.state === "parked" ? d.sessions.get("dev") : null),
      90_000,
      "parked",
    );
    await waitFor(
      () =>
        events(rx.got, "/hook").includes("session.parked") &&
        events(rx.got, "/ntfy/cf-topic").includes("session.parked"),
      10_000,
      "park notified",
    );
    const park = JSON.parse(rx.got.find((g) => g.path === "/hook" && g.body.includes("session.parked"))!.body) as {
      text: string;
      data: { resumeAt: number };
    };
    assert.equal(park.data.resumeAt, parked.parkedUntil);
    assert.match(park.text, /It resumes at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    h.api.setCap(h.accountTokens.a!, 100_000);
    h.api.setCap(h.accountTokens.b!, 100_000);
    clock.advance(parked.parkedUntil! - clock.now() + 4 * 3600_000);
    await waitFor(
      () =>
        events(rx.got, "/hook").includes("session.resume") &&
        events(rx.got, "/ntfy/cf-topic").includes("session.resume"),
      90_000,
      "resume notified",
    );
    await waitFor(
      () => d.sessions.get("dev")?.state === "idle" && d.sessions.get("dev")?.lastPromptAnswered,
      60_000,
      "idle again",
    );
    for (const path of ["/hook", "/ntfy/cf-topic"]) {
      const kinds = events(rx.got, path);
      assert.equal(kinds.filter((k) => k === "session.parked").length, 1, `${path}: ${kinds.join(",")}`);
      assert.equal(kinds.filter((k) => k === "session.resume").length, 1, `${path}: ${kinds.join(",")}`);
    }
  });

  it("notify test reaches each target (and names the one it could not)", async () => {
    const before = rx.got.length;
    const r = await h.cli("notify", "test");
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /^hook \(webhook\): sent$/m);
    assert.match(r.out, /^phone \(ntfy\): sent$/m);
    assert.match(r.out, /^flaky \(webhook\): sent$/m);
    assert.match(r.out, /^log \(command\): sent$/m);
    const tests = rx.got.slice(before);
    assert.deepEqual(tests.map((g) => g.path).sort(), ["/flaky", "/hook", "/ntfy/cf-topic"]);
    assert.equal(tests.find((g) => g.path === "/ntfy/cf-topic")!.headers.title, "claude-failover test notification");
    const one = await h.cli("notify", "test", "phone");
    assert.equal(one.code, 0, one.err);
    assert.equal(one.out, "phone (ntfy): sent\n");
    const bad = await h.cli("notify", "test", "nope");
    assert.equal(bad.code, 1);
    assert.match(bad.err, /no notify target named nope \(targets: hook, phone, flaky, log\)/);
  });
});

function hasToolResult(r: RecordedRequest): boolean {
  const last = (r.body?.messages as { content?: unknown }[] | undefined)?.at(-1);
  return Array.isArray(last?.content) && (last.content as { type?: string }[]).some((b) => b.type === "tool_result");
}

describe("a pool session waiting on a permission dialog", { timeout: 240_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let rx: Awaited<ReturnType<typeof receiver>>;
  before(async () => {
    rx = await receiver();
    h = await makeHarness({
      accounts: 1,
      dedicated: [],
      config: {
        claude: { permission_mode: "default" },
        pool: { max: 1, min: 1 },
        notify: {
          dialog_after: "2s",
          targets: [
            {
              name: "hook",
              kind: "webhook",
              url: `${rx.url}/hook`,
              format: "slack",
              events: ["session.dialog_overdue"],
            },
          ],
        },
      },
    });
    (h.configObject.pool as Record<string, unknown>).project = h.project("work");
    h.writeConfig();
    d = await h.start();
    await waitFor(() => d.sessions.get("auto-01")?.state === "idle", 60_000, "auto-01 idle");
  });
  after(async () => {
    h?.api.setReplier(undefined);
    await h?.cleanup();
    await rx?.close();
  });

  it("is notified once dialog_after has passed, not before", async () => {
    h.api.setReplier((r) => {
      if (hasToolResult(r)) return { text: "tool ran" };
      if (r.userText.includes("RUN-BASH"))
        return {
          toolUse: {
            name: "Bash",
            input: { command: `touch ${join(h.root, "approved")}`, description: "touch a file" },
          },
        };
      return undefined;
    });
    await d.api.enqueue({ prompt: "RUN-BASH <script>please</script>", project: h.project("work"), id: "dialog-1" });
    await waitFor(
      () => /^waiting: permission/.test(d.sessions.get("auto-01")?.stateReason ?? ""),
      60_000,
      "waiting at the permission dialog",
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}; task ${JSON.stringify(d.inbox.tasks.get("dialog-1"))}; session ${JSON.stringify(d.sessions.get("auto-01"))}; pane:\n${h.tmux("capture-pane", "-p", "-t", "=auto-01:").out}`,
      );
    });
    const since = Date.now();
    const got = await waitFor(() => rx.got.find((g) => g.path === "/hook"), 15_000, "waiting notification");
    assert.ok(got.at - since >= 1_000, `not long before dialog_after (${got.at - since} ms after the wait was seen)`);
    const body = JSON.parse(got.body) as { text: string };
    assert.match(
      body.text,
      /^\*auto-01 is waiting for you\*\nA permission dialog has been open for \d+\.\d s: answer it with claude-failover attach auto-01\.$/,
    );
    const ev = d.store.tailEvents(200).filter((e) => e.kind === "session.dialog_overdue");
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.session, "auto-01");
    assert.ok((ev[0]!.data.waitingMs as number) >= 2_000);
    assert.equal(rx.got.filter((g) => g.path === "/hook").length, 1, "once per wait");
  });
});
