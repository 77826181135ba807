// Inbox intake through the daemon (no pool sessions: max 0, no dedicated ones, so no CLI runs): a burst
// of files, malformed files, half-written files, and the enqueue/tasks/task commands.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { dropFiles, type TaskFileSpec } from "../support/inbox.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

interface TaskJson {
  id: string;
  state: string;
  priority: number;
  source: string;
  project: string;
  prompt: string;
}

describe("inbox intake", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  let inbox: string;
  let work: string;
  before(async () => {
    h = await makeHarness({
      accounts: 2,
      dedicated: [],
      config: { pool: { max: 0 }, inbox: { max_file_bytes: 2048, stable_time: "400ms" } },
    });
    work = h.project("work");
    (h.configObject.pool as Record<string, unknown>).project = work;
    h.writeConfig();
    inbox = join(h.root, "state", "inbox");
    d = await h.start();
  });
  after(async () => h.cleanup());

  const list = async () => JSON.parse((await h.cli("tasks", "--json")).out) as TaskJson[];

  it("queues 200 files dropped in a burst, none lost, in order of priority then arrival", async () => {
    const files: TaskFileSpec[] = Array.from({ length: 200 }, (_, i) => ({
      name: `burst-${String(i).padStart(3, "0")}.md`,
      prompt: `burst task ${i}`,
      front: { priority: [0, 5, -3, 10][i % 4]! },
    }));
    dropFiles(inbox, files);
    const queued = await waitFor(
      async () => {
        const t = (await list()).filter((x) => x.source.startsWith("file:burst-"));
        return t.length === 200 ? t : null;
      },
      60_000,
      "200 queued",
      100,
    );
    const expected = [...files].sort(
      (a, b) => Number(b.front!.priority) - Number(a.front!.priority) || (a.name < b.name ? -1 : 1),
    );
    assert.deepEqual(
      queued.map((t) => t.source),
      expected.map((f) => `file:${f.name}`),
    );
    assert.ok(queued.every((t) => t.state === "queued" && t.project === work));
    assert.equal(readdirSync(join(inbox, "processed")).filter((f) => f.startsWith("burst-")).length, 200);
    assert.equal(readdirSync(inbox).filter((f) => f.startsWith("burst-")).length, 0);
    assert.equal(d.store.tailEvents(1000, { kindPrefix: "task.queued" }).length, 200);
  });

  it("moves each malformed file to rejected/ with its reason, and still queues the good one beside them", async () => {
    const bad: [string, string | Buffer, RegExp][] = [
      ["empty.md", "", /empty file/],
      ["blank.md", "---\npriority: 1\n---\n   \n", /empty prompt/],
      ["bad-yaml.md", "---\nproject: [unclosed\n---\nhi\n", /unreadable front matter/],
      ["unclosed.md", "---\nproject: /tmp\nhello\n", /no closing/],
      ["relative.md", "---\nproject: some/where\n---\nhi\n", /absolute path/],
      ["missing.md", "---\nproject: /no/such/dir/anywhere\n---\nhi\n", /does not exist/],
      ["big.md", `${"x".repeat(4096)}\n`, /too large/],
      ["unknown-key.md", "---\nprioritty: 3\n---\nhi\n", /unknown front-matter key: prioritty/],
      ["bad-priority.md", "---\npriority: high\n---\nhi\n", /priority: must be an integer/],
      ["bad-account.md", "---\naccount: nobody\n---\nhi\n", /no account named "nobody"/],
      ["binary.md", Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28]), /binary file: NUL byte at offset 2/],
      ["latin1.md", Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), /not UTF-8/],
    ];
    mkdirSync(join(h.root, "staging2"), { recursive: true });
    for (const [name, text] of bad) writeFileSync(join(h.root, "staging2", name), text);
    dropFiles(inbox, [{ name: "good.md", prompt: "the good one", front: { priority: 1 } }]);
    for (const [name] of bad) renameSync(join(h.root, "staging2", name), join(inbox, name));
    const rejected = join(inbox, "rejected");
    for (const [name, , why] of bad) {
      const reason = await waitFor(
        () => existsSync(join(rejected, `${name}.reason`)) && readFileSync(join(rejected, `${name}.reason`), "utf8"),
        10_000,
        `${name} rejected`,
      );
      assert.match(reason, why, name);
      assert.ok(existsSync(join(rejected, name)), `${name} kept in rejected/`);
    }
    const events = d.store.tailEvents(1000, { kindPrefix: "task.rejected" });
    for (const [name] of bad)
      assert.ok(
        events.some((e) => e.data.file === name),
        `event for ${name}`,
      );
    await waitFor(async () => (await list()).find((t) => t.source === "file:good.md"), 10_000, "good one queued");
  });

  it("rejects a second file with an id already in use", async () => {
    dropFiles(inbox, [{ name: "first.md", prompt: "first", front: { id: "same-id" } }]);
    await waitFor(() => d.inbox.tasks.get("same-id"), 10_000, "first queued");
    dropFiles(inbox, [{ name: "second.md", prompt: "second", front: { id: "same-id" } }]);
    const reason = await waitFor(
      () =>
        existsSync(join(inbox, "rejected", "second.md.reason")) &&
        readFileSync(join(inbox, "rejected", "second.md.reason"), "utf8"),
      10_000,
      "second rejected",
    );
    assert.match(reason, /duplicate id: task same-id already exists/);
    assert.equal(d.inbox.tasks.get("same-id")!.prompt, "first");
  });

  it("waits for a file written in place to stop changing before reading it", async () => {
    const path = join(inbox, "slow-writer.md");
    writeFileSync(path, "---\nprior"); // half a front matter: malformed if read now
    for (let i = 0; i < 3; i++) {
      // A writer pausing between chunks (the pauses are the scenario, shorter than stable_time).
      await new Promise((r) => setTimeout(r, 150));
      appendFileSync(path, i === 0 ? "ity: 7\n" : i === 1 ? "---\n" : "written slowly\n");
    }
    const t = await waitFor(
      async () => (await list()).find((x) => x.source === "file:slow-writer.md"),
      10_000,
      "slow file queued",
    );
    assert.equal(t.priority, 7);
    assert.equal(t.prompt, "written slowly");
    assert.ok(!existsSync(join(inbox, "rejected", "slow-writer.md")));
  });

  it("enqueue, tasks and task from the command line", async () => {
    const f = join(h.root, "cli-task.md");
    writeFileSync(f, "---\npriority: 2\n---\nfrom the command line\n");
    const r = await h.cli("enqueue", "--priority", "9", "--id", "cli-1", f);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /queued: cli-1/);
    const again = await h.cli("enqueue", "--id", "cli-1", f);
    assert.match(again.out, /already queued: cli-1/);
    const bad = await h.cli("enqueue", "--project", "/no/such/project", f);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /does not exist/);
    const one = await h.cli("task", "cli-1");
    assert.equal(one.code, 0, one.err);
    assert.match(one.out, /priority\s+9/);
    assert.match(one.out, /from the command line/);
    const byName = await h.cli("task", "good");
    assert.match(byName.out, /the good one/);
    const table = await h.cli("tasks");
    assert.match(table.out, /^ID\s+STATE/);
    assert.match(table.out, /cli-1\s+queued\s+9/);
    const missing = await h.cli("task", "nope");
    assert.equal(missing.code, 1);
    assert.match(missing.err, /404: no task nope/);
    const st = JSON.parse((await h.cli("status", "--json")).out) as { tasks: TaskJson[] };
    assert.ok(st.tasks.some((t) => t.id === "cli-1"));
  });
});
