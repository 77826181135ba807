// Schedules (issue 18 point 5) with the real daemon, real SQLite and real tmux:
// - a schedule every 2 seconds (a six-field cron) across a daemon SIGKILL and restart: every run while the
//   daemon was up is queued exactly once, the runs missed while it was down become one (catch_up: latest);
// - an every-minute schedule and ten minutes down (a clock moved forward between two daemons on one state
//   dir): catch_up latest queues exactly one run, catch_up none queues none, and both go on at the next minute;
// - reload adds and removes a schedule, `claude-failover schedules` shows next and last run, a bad schedule
//   is refused by `config check` naming file, line and key, and a scheduled task runs to done in the pool on
//   the real CLI against the stand-in API.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { Daemon } from "../../src/daemon.js";
import { makeHarness, OffsetClock, type Harness } from "../support/harness.js";
import { callOk, connectMcp, listenOf } from "../support/mcp-client.js";
import { waitFor } from "../support/wait.js";

interface TaskJson {
  id: string;
  state: string;
  source: string;
  prompt: string;
}
const M = 60_000;
/** the scheduled time in a run's task id: sched-<name>-20261130T030000Z */
const timeOf = (id: string) => {
  const m = /-(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(id)!;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
};
const iso = (t: number) => new Date(t).toISOString().slice(0, 19).replace(/[-:]/g, "") + "Z";

describe("a schedule across a daemon SIGKILL and restart", { timeout: 240_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await makeHarness({ accounts: 1, dedicated: [], config: { pool: { max: 0 } } });
    (h.configObject.pool as Record<string, unknown>).project = h.project("work");
    // Every 2 s; the pool has no sessions (max 0), so every run's task stays queued where it can be counted.
    h.configObject.schedules = [
      { name: "tick", cron: "*/2 * * * * *", timezone: "UTC", prompt: "tick {{name}} {{date}}" },
    ];
  });
  after(async () => h.cleanup());

  const ticks = async (): Promise<number[] | null> => {
    const r = await h.cli("tasks", "--json");
    if (r.code !== 0) return null;
    return (JSON.parse(r.out) as TaskJson[])
      .filter((t) => t.source === "schedule:tick")
      .map((t) => timeOf(t.id))
      .sort((a, b) => a - b);
  };
  const kill = async (child: ChildProcess) => {
    child.kill("SIGKILL");
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, 10_000, "daemon dead");
  };

  it("queues each run once; the runs missed while down become one", async () => {
    let child = await h.spawnDaemon();
    const first = await waitFor(
      async () => {
        const t = await ticks();
        return t && t.length >= 4 ? t : null;
      },
      60_000,
      "four runs",
      200,
    );
    await kill(child);
    const killedAt = Date.now();
    const lastBefore = await (async () => {
      const db = new Database(join(h.root, "state", "state.db"), { readonly: true });
      try {
        return (
          db.prepare("SELECT id FROM tasks WHERE source = 'schedule:tick' ORDER BY id DESC LIMIT 1").get() as {
            id: string;
          }
        ).id;
      } finally {
        db.close();
      }
    })();
    // Down for at least four run times (8 s), plus the restart.
    await waitFor(() => Date.now() - killedAt >= 8000, 20_000, "eight seconds down", 200);
    child = await h.spawnDaemon();
    await waitFor(
      async () => {
        const t = await ticks();
        return t && t.filter((x) => x > killedAt).length >= 2 ? t : null;
      },
      60_000,
      "two runs after the restart",
      200,
    );
    // Two reloads (SIGHUP) between runs: each wakes the scheduler again within a run's 2 s, which must not
    // decide that run a second time.
    for (let n = 1; n <= 2; n++) {
      child.kill("SIGHUP");
      await waitFor(
        async () => {
          const r = await h.cli("events", "-n", "500", "--json");
          return r.code === 0 && r.out.split("\n").filter((l) => l.includes('"kind":"daemon.reloaded"')).length >= n;
        },
        20_000,
        `reload ${n}`,
        100,
      );
    }
    const all = await waitFor(
      async () => {
        const t = await ticks();
        return t && t.filter((x) => x > killedAt).length >= 5 ? t : null;
      },
      60_000,
      "five runs after the restart",
      200,
    );
    await kill(child);

    assert.ok(first.length >= 4);
    const db = new Database(join(h.root, "state", "state.db"), { readonly: true });
    try {
      const ids = (
        db.prepare("SELECT id FROM tasks WHERE source = 'schedule:tick' ORDER BY id").all() as { id: string }[]
      ).map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length);
      const runs = (db.prepare("SELECT data FROM events WHERE kind = 'schedule.run'").all() as { data: string }[]).map(
        (e) => JSON.parse(e.data) as { task: string; outcome: string; due: number; missed: boolean },
      );
      assert.deepEqual(
        runs.filter((r) => r.outcome !== "queued"),
        [],
        "no run was decided twice (never a duplicate)",
      );
      const perTask = new Map<string, number>();
      for (const r of runs) perTask.set(r.task, (perTask.get(r.task) ?? 0) + 1);
      assert.deepEqual(
        [...perTask].filter(([, n]) => n > 1),
        [],
        "one schedule.run per task",
      );
      const caughtUp = runs.filter((r) => r.missed);
      assert.equal(caughtUp.length, 1, "one catch-up run at the restart");
      assert.ok(caughtUp[0]!.due >= 4, `the catch-up stood for the runs missed while down (due ${caughtUp[0]!.due})`);

      // No 2-second time is left out: each run stands for the times since the one before (`due`: 1 while the
      // daemon keeps up; more only when a wake came late, and for the catch-up). A SIGKILL can fall between a
      // run's commit and its event: only the last run before the kill may lack one.
      const times = all;
      const dueOf = new Map(runs.map((r) => [r.task, r.due]));
      const cut = times.indexOf(timeOf(lastBefore));
      assert.ok(cut >= 3, "the last run before the kill is there");
      for (let i = 1; i < times.length; i++) {
        const due = dueOf.get(`sched-tick-${iso(times[i]!)}`);
        if (due === undefined && i === cut) continue;
        assert.ok(due !== undefined, `a schedule.run event for ${iso(times[i]!)}`);
        assert.equal(
          times[i]! - times[i - 1]!,
          2000 * due,
          `the run at ${iso(times[i]!)} follows the one before by its due times`,
        );
      }
      // Exactly one run for the down time: the catch-up, at the latest time before the restart.
      const catchUp = times[cut + 1]!;
      assert.equal(caughtUp[0]!.task, `sched-tick-${iso(catchUp)}`);
      assert.ok(catchUp - times[cut]! >= 8000, "the catch-up is the latest of the missed times, not the first");
      const late = runs.filter((r) => !r.missed && r.due > 1);
      assert.ok(late.length <= 2, `runs while up kept pace (late wakes: ${JSON.stringify(late)})`);
    } finally {
      db.close();
    }
  });
});

describe("ten minutes down with an every-minute schedule", { timeout: 120_000 }, () => {
  let h: Harness;
  const clock = new OffsetClock();
  before(async () => {
    h = await makeHarness({ accounts: 1, dedicated: [], config: { pool: { max: 0 } } });
    (h.configObject.pool as Record<string, unknown>).project = h.project("work");
    h.configObject.schedules = [
      { name: "latest", cron: "* * * * *", timezone: "UTC", prompt: "minute {{date}}" },
      { name: "none", cron: "* * * * *", timezone: "UTC", prompt: "minute {{date}}", catch_up: "none" },
    ];
    h.writeConfig();
  });
  after(async () => h.cleanup());

  const ids = (d: Daemon) =>
    (d.store.db.prepare("SELECT id FROM tasks ORDER BY seq").all() as { id: string }[]).map((r) => r.id);

  it("catch_up latest queues one run, catch_up none none; both go on at the next minute", async () => {
    // The daemon's clock reads 12 s before a minute B (room for a slow start): it sees both schedules first,
    // then runs them at B.
    const B = Math.ceil((Date.now() + 60_000) / M) * M;
    clock.offset = B - 12_000 - Date.now();
    let d = await h.start({ clock });
    await waitFor(() => ids(d).length === 2, 30_000, "the runs at B", 100);
    assert.deepEqual(ids(d), [`sched-latest-${iso(B)}`, `sched-none-${iso(B)}`]);
    await d.stop();

    // Ten minutes pass (B+1m … B+10m) with no daemon.
    clock.advance(10 * M);
    d = await h.start({ clock });
    assert.ok(clock.now() > B + 10 * M, "started after the tenth missed minute");
    assert.deepEqual(
      ids(d),
      [`sched-latest-${iso(B)}`, `sched-none-${iso(B)}`, `sched-latest-${iso(B + 10 * M)}`],
      "one catch-up run for latest, none for none",
    );
    const events = d.api.eventsTail(1000).filter((e) => e.kind.startsWith("schedule."));
    const run = events.filter((e) => e.kind === "schedule.run").at(-1)!.data;
    assert.deepEqual(run, {
      name: "latest",
      at: B + 10 * M,
      task: `sched-latest-${iso(B + 10 * M)}`,
      outcome: "queued",
      due: 10,
      missed: true,
    });
    const skipped = events.filter((e) => e.kind === "schedule.skipped").map((e) => e.data);
    assert.deepEqual(
      skipped.map((s) => [s.name, s.at, s.due]),
      [["none", B + 10 * M, 10]],
    );

    // Both run again at B+11m: move the clock to 2 s before it and reload (SIGHUP's path re-arms the timer).
    clock.offset = B + 11 * M - 2000 - Date.now();
    await d.reload(h.loadConfig());
    await waitFor(() => ids(d).length === 5, 20_000, "the runs at B+11m", 100);
    assert.deepEqual(ids(d).slice(3), [`sched-latest-${iso(B + 11 * M)}`, `sched-none-${iso(B + 11 * M)}`]);
    const all = d.api.eventsTail(1000);
    assert.deepEqual(
      all.filter((e) => e.kind === "schedule.run").map((e) => (e.data as { outcome: string }).outcome),
      ["queued", "queued", "queued", "queued", "queued"],
      "one decision per task: the reload decided nothing twice",
    );
    assert.equal(all.filter((e) => e.kind === "schedule.skipped").length, 1, "the missed run was skipped once");
  });
});

describe("schedules: reload, the schedules command, config errors, a run to done", { timeout: 180_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({
      accounts: 1,
      dedicated: [],
      config: { pool: { max: 1, min: 0, idle_timeout: "60s" } },
    });
    (h.configObject.pool as Record<string, unknown>).project = h.project("work");
    h.configObject.schedules = [];
    h.writeConfig();
  });
  after(async () => h.cleanup());

  it("config check names the file, line and key of a bad schedule", async () => {
    const bad = {
      ...h.configObject,
      schedules: [
        { name: "x", cron: "*/2 * * * * *", timezone: "Nowhere/Land", prompt: "p" },
        { name: "x", cron: "61 * * * *", prompt: "q", project: join(h.root, "projects", "gone") },
      ],
    };
    const file = join(h.root, "bad.yaml");
    const { stringify } = await import("yaml");
    writeFileSync(file, stringify(bad));
    const r = await h.cli("--config", file, "config", "check");
    assert.equal(r.code, 2, r.out + r.err);
    const lines = readFileSync(file, "utf8").split("\n");
    const lineOf = (re: RegExp, from = 0) => lines.findIndex((l, i) => i >= from && re.test(l)) + 1;
    const first = lineOf(/^schedules:/);
    assert.match(
      r.err,
      new RegExp(
        `${file}:${lineOf(/timezone: Nowhere\/Land/, first)}: schedules\\[0\\]\\.timezone: not a time zone name`,
      ),
    );
    assert.match(
      r.err,
      new RegExp(
        `${file}:${lineOf(/name: x/, lineOf(/name: x/, first))}: schedules\\[1\\]\\.name: same name as schedules\\[0\\]`,
      ),
    );
    assert.match(
      r.err,
      new RegExp(`${file}:${lineOf(/cron: 61/, first)}: schedules\\[1\\]\\.cron: not a cron expression`),
    );
    // A project folder that is not there: refused by config check (a reload too), not at start.
    const gone = join(h.root, "projects", "gone");
    writeFileSync(
      file,
      stringify({ ...h.configObject, schedules: [{ name: "y", cron: "@daily", prompt: "p", project: gone }] }),
    );
    const r2 = await h.cli("--config", file, "config", "check");
    assert.equal(r2.code, 2, r2.out + r2.err);
    assert.match(
      r2.err,
      new RegExp(`${file}:\\d+: schedules\\[0\\]\\.project: ${gone} does not exist or is not a directory`),
    );
  });

  it("reload adds a schedule, whose run is done in the pool; `schedules` shows it; reload removes it", async () => {
    d = await h.start();
    // Once, 6 s from now (a six-field cron of one second of the day), on the real CLI against the stand-in.
    const at = new Date(Math.ceil((Date.now() + 6000) / 1000) * 1000);
    const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
    h.configObject.schedules = [
      { name: "once", cron, timezone: "UTC", prompt: "say hello for {{name}} on {{date}}", priority: 5, timeout: "2m" },
    ];
    const diff = await d.reload(h.loadConfig());
    assert.deepEqual(diff.addedSchedules, ["once"]);
    const id = `sched-once-${iso(at.getTime())}`;
    const list = await h.cli("schedules", "--json");
    assert.equal(list.code, 0, list.err);
    const [view] = JSON.parse(list.out) as { name: string; nextRun: number; lastRun: unknown }[];
    assert.equal(view!.name, "once");
    assert.equal(view!.nextRun, at.getTime());
    assert.equal(view!.lastRun, null);

    const done = await waitFor(
      () => {
        const t = d.inbox.tasks.get(id);
        return t?.state === "done" ? t : null;
      },
      120_000,
      "the scheduled task done",
      200,
    );
    assert.equal(done.prompt, `say hello for once on ${at.toISOString().slice(0, 10)}`);
    assert.equal(done.priority, 5);
    assert.equal(done.timeoutMs, 120_000);
    assert.equal(
      h.api.turns().filter((t) => t.status === 200 && t.userText.endsWith(done.prompt)).length,
      1,
      "the model was asked once",
    );
    assert.ok(existsSync(join(h.root, "state", "outbox", `${id}.md`)), "its result is in the outbox");

    // The MCP tool and the CLI's JSON (GET /schedules) say the same.
    const mcp = await connectMcp(listenOf(h), { authorization: `Bearer ${h.token}` });
    try {
      const viaMcp = await callOk<{ schedules: unknown[] }>(mcp, "schedules_list");
      const viaCli = JSON.parse((await h.cli("schedules", "--json")).out) as unknown[];
      assert.deepEqual(viaMcp.schedules, viaCli);
      assert.deepEqual((viaCli[0] as { lastRun: unknown }).lastRun, {
        at: at.getTime(),
        task: id,
        outcome: "queued",
        error: null,
        taskState: "done",
      });
    } finally {
      await mcp.close();
    }
    const text = await h.cli("schedules");
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /^NAME\s+CRON\s+ZONE\s+NEXT RUN\s+LAST RUN\s+OUTCOME\s+TASK\s+TASK STATE/);
    assert.match(
      text.out,
      new RegExp(
        `\\bonce\\s+${cron.replace(/\*/g, "\\*")}\\s+UTC\\s+\\S+ \\(in \\d+h\\d+m\\)\\s+\\S+ \\(\\S+ ago\\)\\s+queued\\s+${id}\\s+done`,
      ),
    );

    h.configObject.schedules = [];
    const removed = await d.reload(h.loadConfig());
    assert.deepEqual(removed.removedSchedules, ["once"]);
    assert.equal((await h.cli("schedules")).out.trim(), "no schedules (add them under schedules: in the config)");
    const kinds = d.api
      .eventsTail(1000)
      .filter((e) => e.kind.startsWith("schedule."))
      .map((e) => e.kind);
    assert.deepEqual(kinds, ["schedule.added", "schedule.run", "schedule.removed"]);
  });
});
