// .claude.json half written by another process (as the CLI writes it in place, anthropics/claude-code 29158)
// while the daemon starts a pool session that must trust a new project there (issue 13 point 8): every key
// the file had is still there afterwards, the trust is added, nothing is moved aside. Real processes: the
// daemon with the stub CLI, and a separate writer process that writes the file in two halves.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { dropFiles } from "../support/inbox.js";
import { waitFor } from "../support/wait.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import type { Daemon } from "../../src/daemon.js";

// Opens the file with truncation, writes the first half, waits until `go` exists (the task file was taken in,
// so the pool start is about to read the file) plus 300 ms, writes the rest. Its own process: the daemon's
// retries block its event loop, as they would a real CLI's writes not.
const WRITER = `
const fs = require("node:fs");
const [path, text, go] = process.argv.slice(1);
const fd = fs.openSync(path, "w");
fs.writeSync(fd, text.slice(0, text.length >> 1));
fs.writeFileSync(path + ".half", "");
const until = Date.now() + 5000;
while (!fs.existsSync(go) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
fs.writeSync(fd, text.slice(text.length >> 1));
fs.closeSync(fd);
`;

describe(".claude.json torn while a pool session starts", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({
      accounts: 1,
      dedicated: [],
      binary: STUB_CLAUDE,
      config: { inbox: { stable_time: "200ms" } },
    });
    h.configObject.pool = {
      max: 1,
      project: h.project("work"),
      idle_timeout: "5m",
    };
    h.writeConfig();
    d = await h.start();
  });
  after(async () => h.cleanup());

  it("keeps every key and adds the trust", async () => {
    const home = h.loadConfig().accounts[0]!.home;
    const path = join(home, ".claude.json");
    const seeded = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    const full = {
      ...seeded,
      oauthAccount: { emailAddress: "someone@example.com", accountUuid: "u-1" },
      userID: "abc",
      numStartups: 12,
      tipsHistory: { "new-user-warmup": 3 },
      projects: { ...(seeded.projects as object), "/elsewhere": { allowedTools: ["Bash(ls)"] } },
    };
    const sub = h.project("work/sub");
    const inbox = join(h.root, "state", "inbox");
    const go = join(inbox, "processed", "t.md");
    const writer = spawn(process.execPath, ["-e", WRITER, path, JSON.stringify(full, null, 2), go], {
      stdio: "ignore",
    });
    const exited = new Promise((r) => writer.on("exit", r));
    await waitFor(() => existsSync(`${path}.half`), 10_000, "half written");
    assert.throws(() => JSON.parse(readFileSync(path, "utf8")), "the file is torn now");
    dropFiles(inbox, [{ name: "t.md", prompt: "torn trust", front: { project: sub, id: "t" } }]);
    await exited;
    await waitFor(() => d.inbox.tasks.get("t")?.state === "done", 60_000, "task done");
    const after = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown> & {
      projects: Record<string, Record<string, unknown>>;
    };
    for (const k of Object.keys(full)) assert.ok(k in after, `key ${k} kept`);
    assert.deepEqual(after.oauthAccount, full.oauthAccount);
    assert.deepEqual(after.projects["/elsewhere"], { allowedTools: ["Bash(ls)"] });
    assert.equal(after.projects[sub]?.hasTrustDialogAccepted, true, "trust added");
    assert.deepEqual(
      readdirSync(home).filter(
        (f) => f.startsWith(".claude.json") && f !== ".claude.json" && f !== ".claude.json.half",
      ),
      [],
      "nothing moved aside, no lock left",
    );
    const torn = d.store
      .tailEvents(50, { kindPrefix: "account.claude_json" })
      .map((e) => String((e.data as { warning?: string }).warning));
    assert.ok(
      torn.some((w) => /read \d+ time\(s\) while not valid JSON/.test(w)),
      `the torn read was seen and waited out: ${torn.join(" | ")}`,
    );
    assert.ok(statSync(path).size > 0);
  });
});
