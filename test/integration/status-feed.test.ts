// The status-line script run by a real shell, and the feed reading what it wrote into a real SQLite store.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import { type StatusLineFiles, writeStatusLineFiles, writeUserStatusLine } from "../../src/claude/status-line-files.js";
import { StatusFeed } from "../../src/quota/status-feed.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/log.js";
import { stateLayout } from "../../src/config/paths.js";

const input = (pct: number) =>
  JSON.stringify({ session_id: "c-1", rate_limits: { five_hour: { used_percentage: pct, resets_at: 1796048228 } } });

describe("status-line script and feed", () => {
  let root: string;
  let files: StatusLineFiles;
  let store: Store;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-feed-"));
    files = writeStatusLineFiles(stateLayout(join(root, "state")).statusLineDir);
    store = new Store(openDb(join(root, "state")));
  });
  after(() => {
    store.db.close();
    rmSync(root, { recursive: true, force: true });
  });
  const runScript = (stdin: string, session = "dev", account = "a", cwd = root) =>
    spawnSync("sh", ["-c", `'${files.script}'`], {
      input: stdin,
      cwd,
      env: { PATH: process.env.PATH, CLAUDE_FAILOVER_SESSION: session, CLAUDE_FAILOVER_ACCOUNT: account },
      encoding: "utf8",
    });

  it("keeps the latest input per session (no temp file left) and prints the account without a user status line", () => {
    const r = runScript(input(10));
    assert.equal(r.status, 0);
    assert.equal(r.stdout, "claude-failover · account a");
    runScript(input(20));
    const f = join(files.feedDir, "dev.a.json");
    assert.ok(existsSync(f));
    assert.equal(spawnSync("ls", ["-A", files.feedDir], { encoding: "utf8" }).stdout.trim(), "dev.a.json");
    assert.equal(statSync(files.script).mode & 0o777, 0o700);
  });

  it("runs the user's own status line on the same input, the project's before the account home's", () => {
    const project = join(root, "proj");
    const home = join(root, "home");
    mkdirSync(join(project, ".claude"), { recursive: true });
    mkdirSync(join(home, ".claude"), { recursive: true });
    writeFileSync(
      join(home, ".claude", "settings.json"),
      JSON.stringify({ statusLine: { type: "command", command: "echo HOME-LINE" } }),
    );
    assert.equal(writeUserStatusLine(files, "dev", { project, accountHome: home, userHome: null }), "echo HOME-LINE");
    assert.equal(runScript(input(30)).stdout, "HOME-LINE\n");
    writeFileSync(
      join(project, ".claude", "settings.json"),
      JSON.stringify({ statusLine: { type: "command", command: "grep -o '\"used_percentage\":[0-9]*'" } }),
    );
    writeUserStatusLine(files, "dev", { project, accountHome: home, userHome: null });
    assert.equal(runScript(input(31)).stdout, '"used_percentage":31\n');
    rmSync(join(project, ".claude", "settings.json"));
    rmSync(join(home, ".claude", "settings.json"));
    assert.equal(writeUserStatusLine(files, "dev", { project, accountHome: home, userHome: null }), null);
    assert.equal(runScript(input(32)).stdout, "claude-failover · account a");
  });

  it("stores figures with the time the CLI wrote them, never replacing a newer reading, keeping the poller's fields", () => {
    const clock = new ManualClock(1_796_040_000_000);
    const seen: string[] = [];
    const feed = new StatusFeed({
      files,
      store,
      clock,
      log: silentLogger(),
      onFigures: (account) => seen.push(account),
    });
    store.putUsage({
      account: "a",
      figures: { fiveHour: null, sevenDay: null, perModelWeekly: {}, fetchedAt: null, source: "none" },
      fetchedAt: null,
      source: "none",
      error: "429 from the usage endpoint",
      errorAt: 5,
      nextPollAt: 99,
      backoffMs: 60_000,
    });
    runScript(input(42));
    const f = join(files.feedDir, "dev.a.json");
    utimesSync(f, new Date(1_796_039_000_000), new Date(1_796_039_000_000));
    assert.equal(feed.readNow("dev.a.json"), "a");
    const u = store.getUsage("a")!;
    assert.equal(u.source, "statusline");
    assert.equal(u.fetchedAt, 1_796_039_000_000);
    assert.deepEqual((u.figures as { fiveHour: unknown }).fiveHour, { utilization: 0.42, resetsAt: 1796048228000 });
    assert.equal(u.backoffMs, 60_000);
    assert.equal(u.nextPollAt, 99);
    // An older file (same mtime or earlier) changes nothing.
    runScript(input(5));
    utimesSync(f, new Date(1_796_038_000_000), new Date(1_796_038_000_000));
    clock.advance(5000);
    assert.equal(feed.readNow("dev.a.json"), null);
    assert.equal((store.getUsage("a")!.figures as { fiveHour: { utilization: number } }).fiveHour.utilization, 0.42);
    assert.deepEqual(seen, ["a"]);
  });

  it("a file changing often is read at most once a second: a change inside the gap is read on its trailing edge (manual clock)", () => {
    const clock = new ManualClock(1_796_040_000_000);
    const seen: string[] = [];
    const feed = new StatusFeed({
      files,
      store,
      clock,
      log: silentLogger(),
      onFigures: (account) => seen.push(account),
    });
    const f = join(files.feedDir, "dev.a.json");
    const five = () => (store.getUsage("a")!.figures as { fiveHour: { utilization: number } }).fiveHour.utilization;
    runScript(input(10));
    utimesSync(f, new Date(1_796_039_100_000), new Date(1_796_039_100_000)); // newer than the earlier test's reading
    feed.kick("dev.a.json");
    assert.equal(five(), 0.1, "the first change is read at once");
    clock.advance(200);
    runScript(input(20));
    utimesSync(f, new Date(1_796_039_101_000), new Date(1_796_039_101_000));
    feed.kick("dev.a.json");
    feed.kick("dev.a.json");
    assert.equal(five(), 0.1, "not within a second of the last read");
    assert.equal(clock.pending(), 1, "one trailing read, however many kicks");
    clock.advance(799);
    assert.equal(five(), 0.1);
    clock.advance(1);
    assert.equal(five(), 0.2, "read on the trailing edge, a second after the last read");
    assert.deepEqual(seen, ["a", "a"]);
  });

  it("reads only small regular files: a symlink or a FIFO in the feed is skipped", () => {
    const clock = new ManualClock(1_796_040_000_000);
    const feed = new StatusFeed({ files, store, clock, log: silentLogger(), onFigures: () => {} });
    spawnSync("ln", ["-s", "/dev/zero", join(files.feedDir, "evil.a.json")]);
    spawnSync("mkfifo", [join(files.feedDir, "fifo.a.json")]);
    assert.equal(feed.readNow("evil.a.json"), null);
    assert.equal(feed.readNow("fifo.a.json"), null);
  });
});
