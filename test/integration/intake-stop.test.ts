// Intake.stop leaves nothing open. With chokidar as the inbox's watcher, a stop() right after the intake
// moved two or more task files to processed/ could make chokidar watch again after close() (the same bug as
// the spool's: docs/reliability.md, "a watcher left open after Spool.stop"), and a daemon stopped then
// never exited. A child process starts and stops an intake over three task files 80 times, 0–7 event-loop
// turns after its start took them, and must exit by itself.
import assert from "node:assert/strict";
import { it } from "node:test";
import { runChildToExit } from "../support/child-exits.js";

const CHILD = `
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Intake } from "./src/inbox/intake.ts";
import { TaskStore } from "./src/inbox/task-store.ts";
import { openDb } from "./src/store/db.ts";
import { systemClock } from "./src/util/clock.ts";
import { silentLogger } from "./src/util/log.ts";
import { dropFiles } from "./test/support/inbox.ts";
for (let round = 0; round < 80; round++) {
  const base = mkdtempSync(join(tmpdir(), "cf-intakestop-"));
  const inbox = join(base, "inbox");
  dropFiles(inbox, [0, 1, 2].map((k) => ({ name: "t" + k + ".md", prompt: "prompt " + k })));
  const db = openDb(join(base, "state"));
  const intake = new Intake(
    {
      tasks: new TaskStore(db),
      clock: systemClock,
      log: silentLogger(),
      validation: () => ({ defaultProject: base, accounts: ["a"], projectExists: (p) => existsSync(p) }),
      event: () => {},
      queued: () => {},
    },
    { dir: inbox, maxBytes: 10000, stableMs: 100 },
  );
  await intake.start();
  for (let t = 0; t < round % 8; t++) await new Promise((r) => setImmediate(r));
  await intake.stop();
  db.close();
  const taken = readdirSync(join(inbox, "processed")).length;
  if (taken !== 3) throw new Error("round " + round + ": " + taken + " files taken, not 3");
  rmSync(base, { recursive: true, force: true });
}
process.stdout.write("rounds done\\n");
// Only printed if something keeps the process alive.
setTimeout(() => process.stderr.write("still running on: " + process.getActiveResourcesInfo().join(",") + "\\n"), 3000).unref();
`;

it("Intake.stop leaves nothing open: a process that stopped its intake right after it took files exits", async () => {
  const DEADLINE_MS = 30_000;
  const { exited, out, err } = await runChildToExit(CHILD, DEADLINE_MS);
  assert.match(out, /rounds done/, `the rounds ran: ${err}`);
  assert.notEqual(exited, "timeout", `the process did not exit within ${DEADLINE_MS} ms: ${err}`);
  assert.equal(exited, 0, err);
});
