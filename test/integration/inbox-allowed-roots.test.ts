// inbox.allowed_roots through the daemon (issue 13 point 4): task files and `enqueue` for a project outside
// every root, for `/`, for the home folder and through a symlink that leaves a root are rejected with the
// reason, and no account home's .claude.json gains them; a task inside a root runs (stub CLI) and only its
// project is marked trusted.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { dropFiles } from "../support/inbox.js";
import { waitFor } from "../support/wait.js";
import { STUB_CLAUDE } from "../scale/stub.js";
import type { Daemon } from "../../src/daemon.js";

describe("inbox.allowed_roots", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let inbox: string;
  let work: string;
  let elsewhere: string;
  before(async () => {
    h = await makeHarness({
      accounts: 2,
      dedicated: [],
      binary: STUB_CLAUDE,
      config: { inbox: { stable_time: "200ms" } },
    });
    work = h.project("work"); // default roots: its parent, <root>/projects
    h.configObject.pool = {
      max: 1,
      project: work,
      idle_timeout: "5m",
    };
    h.writeConfig();
    elsewhere = join(h.root, "elsewhere");
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(h.root, "projects", "escape"));
    inbox = join(h.root, "state", "inbox");
    d = await h.start();
  });
  after(async () => h.cleanup());

  const trusted = (): string[] =>
    h.loadConfig().accounts.flatMap((a) => {
      const p = join(a.home, ".claude.json");
      return existsSync(p)
        ? Object.keys((JSON.parse(readFileSync(p, "utf8")) as { projects?: object }).projects ?? {})
        : [];
    });

  it("rejects task files for a project outside the roots, /, the home folder and a symlink out of a root", async () => {
    const bad: [string, string, RegExp][] = [
      ["outside.md", elsewhere, /is not inside any of inbox\.allowed_roots/],
      ["slash.md", "/", /root directory, never allowed/],
      ["home.md", homedir(), /home directory, never allowed|not inside any of inbox\.allowed_roots/],
      ["escape.md", join(h.root, "projects", "escape"), new RegExp(`resolves to ${elsewhere} through a symlink`)],
    ];
    dropFiles(
      inbox,
      bad.map(([name, project]) => ({ name, prompt: `task ${name}`, front: { project } })),
    );
    for (const [name, , why] of bad) {
      const reasonFile = join(inbox, "rejected", `${name}.reason`);
      const reason = await waitFor(
        () => existsSync(reasonFile) && readFileSync(reasonFile, "utf8"),
        10_000,
        `${name} rejected`,
      );
      assert.match(reason, why, name);
    }
    assert.equal(d.inbox.tasks.list().length, 0, "nothing queued");
  });

  it("refuses the same through enqueue, with the reason", async () => {
    const f = join(h.root, "t.md");
    writeFileSync(f, "from the command line\n");
    const r = await h.cli("enqueue", "--project", join(h.root, "projects", "escape"), f);
    assert.equal(r.code, 1);
    assert.match(r.err, /through a symlink/);
  });

  it("runs a task inside a root and trusts only that project", async () => {
    const sub = h.project("work/sub");
    dropFiles(inbox, [{ name: "good.md", prompt: "allowed task", front: { project: sub, id: "good" } }]);
    await waitFor(() => d.inbox.tasks.get("good")?.state === "done", 60_000, "good task done");
    const keys = trusted();
    assert.ok(keys.includes(sub), `${sub} trusted: ${keys.join(", ")}`);
    for (const p of [elsewhere, "/", homedir(), join(h.root, "projects", "escape")])
      assert.ok(!keys.includes(p), `${p} must not be trusted`);
  });

  it("a queued task whose project a reloaded inbox.allowed_roots no longer allows fails with the reason", async () => {
    d.inbox.plugin().scale({ min: 0, max: 0 }); // nothing starts: the task stays queued
    const other = h.project("work/other");
    dropFiles(inbox, [
      { name: "later.md", prompt: "queued before the reload", front: { project: other, id: "later" } },
    ]);
    await waitFor(() => d.inbox.tasks.get("later")?.state === "queued", 10_000, "queued");
    (h.configObject.inbox as Record<string, unknown>).allowed_roots = [elsewhere];
    h.writeConfig();
    await d.reload(h.loadConfig());
    const t = await waitFor(
      () => (d.inbox.tasks.get("later")?.state === "failed" ? d.inbox.tasks.get("later") : null),
      10_000,
      "failed",
    );
    assert.match(t.error ?? "", /is not inside any of inbox\.allowed_roots/);
    assert.ok(!trusted().includes(other));
  });
});
