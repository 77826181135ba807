// Spool.stop leaves nothing open. With chokidar as the spool's watcher, a stop() that came while chokidar
// was still looking at files the spool had just applied and deleted could make chokidar watch again after
// close() (a per-file listener's stat failing after close → _remove → add(), which clears `closed`): an
// fs.watch handle left open, and a test process (or a daemon) that never exited
// (spool-disk-full.test.ts hung about one run in four to two; docs/reliability.md). Here a child process
// starts and stops spools right after they applied events, 40 times at different event-loop turns, and
// must exit by itself. The watch that can't be set up (or fails) and the drain on a timer instead run on a
// ManualClock with a stand-in watch.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runChildToExit } from "../support/child-exits.js";
import { DEFERRED_RETRY_MS, Spool, type WatchDir } from "../../src/sessions/spool.js";
import { ManualClock } from "../../src/util/clock.js";
import type { DirWatchOptions } from "../../src/util/dir-watch.js";
import { silentLogger } from "../../src/util/log.js";
import { waitFor } from "../support/wait.js";

/** Writes one event the way the hook does: a dot-temp file, then a rename into place. */
function spoolEvent(dir: string, ns: bigint, event = "Stop"): string {
  const name = `${ns}.4242.s1.a.${event}.json`;
  writeFileSync(join(dir, `.${name}.tmp`), JSON.stringify({ session_id: "c1" }));
  renameSync(join(dir, `.${name}.tmp`), join(dir, name));
  return name;
}

const spoolFiles = (dir: string) => readdirSync(dir).filter((f) => f !== "bad" && !f.startsWith("."));

/** The child: 40 spools over 3 events each, each stopped 0–7 event-loop turns after its start drained them. */
const CHILD = `
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Spool } from "./src/sessions/spool.ts";
import { silentLogger } from "./src/util/log.ts";
const root = mkdtempSync(join(tmpdir(), "cf-spoolstop-"));
const ns0 = BigInt(Date.now()) * 1000000n;
for (let round = 0; round < 40; round++) {
  const dir = join(root, "spool-" + round);
  mkdirSync(dir);
  for (let k = 0; k < 3; k++) {
    const name = (ns0 + BigInt(round * 10 + k)) + ".4242.s1.a.Stop.json";
    writeFileSync(join(dir, "." + name + ".tmp"), "{}");
    renameSync(join(dir, "." + name + ".tmp"), join(dir, name));
  }
  let applied = 0;
  const spool = new Spool({ handle: () => void applied++, log: silentLogger() }, { dir });
  await spool.start();
  for (let t = 0; t < round % 8; t++) await new Promise((r) => setImmediate(r));
  await spool.stop();
  if (applied !== 3) throw new Error("round " + round + ": " + applied + " events applied, not 3");
}
rmSync(root, { recursive: true, force: true });
process.stdout.write("rounds done\\n");
// Only printed if something keeps the process alive.
setTimeout(() => process.stderr.write("still running on: " + process.getActiveResourcesInfo().join(",") + "\\n"), 3000).unref();
`;

describe("Spool.stop", () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-spoolstop-it-"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("leaves nothing open: a process that stopped its spools right after they applied events exits", async () => {
    const DEADLINE_MS = 30_000;
    const { exited, out, err } = await runChildToExit(CHILD, DEADLINE_MS);
    assert.match(out, /rounds done/, `the rounds ran: ${err}`);
    assert.notEqual(exited, "timeout", `the process did not exit within ${DEADLINE_MS} ms: ${err}`);
    assert.equal(exited, 0, err);
  });

  it("a spool directory removed and made again is drained (on the timer: its watch ended with it)", async () => {
    const dir = join(root, "remade");
    mkdirSync(dir);
    const applied: string[] = [];
    const spool = new Spool({ handle: (ev) => void applied.push(ev.file), log: silentLogger() }, { dir });
    await spool.start();
    try {
      const ns = BigInt(Date.now()) * 1_000_000n;
      const first = spoolEvent(dir, ns);
      await waitFor(() => applied.includes(first), 5000, "applied through the watch");
      // The removal's own events handled first (the drain they ring finds nothing), then the new directory.
      const gone: string[] = [];
      const parent = watch(root, (_t, n) => void gone.push(String(n)));
      try {
        rmSync(dir, { recursive: true });
        await waitFor(() => gone.includes("remade"), 5000, "the removal seen");
        await new Promise<void>((r) => setImmediate(r));
      } finally {
        parent.close();
      }
      mkdirSync(dir);
      const second = spoolEvent(dir, ns + 1n);
      await waitFor(() => applied.includes(second), 5000, "applied after the directory was made again");
    } finally {
      await spool.stop();
    }
  });

  it("without a watch (it could not be set up, or failed) drains on a timer, which stop() cancels", async () => {
    for (const how of ["throws", "fails later"] as const) {
      const dir = join(root, `nowatch-${how.replace(" ", "-")}`);
      mkdirSync(dir);
      const clock = new ManualClock(1_000_000);
      let onError: DirWatchOptions["onError"];
      let closed = 0;
      const watchDir: WatchDir = (_d, _ring, opts) => {
        if (how === "throws") throw Object.assign(new Error("inotify watch limit reached"), { code: "ENOSPC" });
        onError = opts.onError;
        return { close: () => void closed++ };
      };
      const applied: string[] = [];
      const spool = new Spool(
        { handle: (ev) => void applied.push(ev.file), log: silentLogger(), clock, watchDir },
        { dir },
      );
      await spool.start();
      if (how === "fails later") onError!(new Error("watch failed"));
      const ns = BigInt(clock.now()) * 1_000_000n;
      const name = spoolEvent(dir, ns);
      await clock.advanceAsync(DEFERRED_RETRY_MS - 1);
      assert.deepEqual(applied, [], `${how}: not before the timer`);
      await clock.advanceAsync(1);
      assert.deepEqual(applied, [name], `${how}: drained by the timer`);
      assert.deepEqual(spoolFiles(dir), []);
      const second = spoolEvent(dir, ns + 1n);
      await clock.advanceAsync(DEFERRED_RETRY_MS);
      assert.deepEqual(applied, [name, second], `${how}: and again a period later`);
      await spool.stop();
      assert.equal(clock.pending(), 0, `${how}: no timer left after stop()`);
      assert.equal(closed, 0, `${how}: a failed watch is not closed again`);
    }
  });
});
