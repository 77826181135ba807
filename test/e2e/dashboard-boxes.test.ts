// The dashboard's Boxes section in a real browser (issue 19 point 5): Debian's chromium driven by
// playwright-core against a real daemon on a real PostgreSQL (store.backend: postgres, box-1, no sessions:
// pool max 0). A second box is its lease and its claim written straight into the shared store under a
// hostile name; the page shows it alive with this box's task it runs (and the task's row says where it
// runs), then lapsed, then "database unreachable" once PostgreSQL stops: live, no reload, the name as text.
// Skipped when chromium or PostgreSQL is missing; failed under CI.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { PostgresSharedStore } from "../../src/store/shared/postgres-shared-store.js";
import type { Daemon } from "../../src/daemon.js";
import { makeHarness, type Harness } from "../support/harness.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { PG_URL_ENV, pgBoxConfig, postgresGate } from "../support/two-boxes.js";
import { waitFor } from "../support/wait.js";

const CHROMIUM = process.env.CF_CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_MISSING = existsSync(CHROMIUM) ? null : `${CHROMIUM} missing (apt-get install chromium)`;
if (CHROMIUM_MISSING && process.env.CI) {
  it("dashboard boxes (chromium): the browser is installed", () =>
    assert.fail(`${CHROMIUM_MISSING}: CI must run the dashboard's browser test (scripts/test.sh installs it as root)`));
}
const PG_MISSING = postgresGate("dashboard boxes");

/** The other box's name: markup that would run if it reached innerHTML. */
const EVIL = "<img src=x onerror=window.__pwned=1>";

/** The Boxes section's rows as the page shows them (text only). */
const boxRows = (page: Page) =>
  page.$$eval("#boxes tbody tr", (rows) =>
    rows.map((r) => ({
      box: r.getAttribute("data-box"),
      cls: r.className,
      cells: [...r.querySelectorAll("td")].map((td) => td.textContent),
    })),
  );

describe(
  "dashboard: every box sharing the store (chromium, postgres)",
  { timeout: 180_000, skip: CHROMIUM_MISSING ?? PG_MISSING ?? false },
  () => {
    let server: TestPostgres;
    let url: string;
    let h: Harness;
    let d: Daemon;
    let browser: Browser;
    let page: Page;
    let other: PostgresSharedStore | null = null;
    const problems: string[] = [];
    before(async () => {
      server = await startPostgres();
      url = await server.createDatabase();
      h = await makeHarness({ accounts: 1, dedicated: [], config: pgBoxConfig("box-1") });
      h.env[PG_URL_ENV] = url;
      // A pool that runs nothing here (max 0): a task enqueued on box-1 waits in the shared queue for another box.
      h.configObject.pool = { min: 0, max: 0, project: h.project("work") };
      h.writeConfig();
      d = await h.start();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
      page = await (await browser.newContext({ viewport: { width: 1100, height: 1000 } })).newPage();
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    });
    after(async () => {
      await other?.close().catch(() => {});
      await browser?.close().catch(() => {});
      await h?.cleanup();
      await server?.destroy();
    });

    it("shows this box, a second box's lease and the task of this box it runs, then its lapse, then the database down", async () => {
      const base = `http://${String((h.configObject.mcp_http as Record<string, unknown>).listen)}`;
      await page.goto(`${base}/ui`);
      await page.fill("#token", h.token);
      await page.click("button[type=submit]");
      await page.waitForSelector("#conn.live", { timeout: 10_000 }).catch((e: Error) => {
        throw new Error(`${e.message}\n${problems.join("\n")}`);
      });
      problems.length = 0; // the login page's own 401s
      await page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 1));
      // this box alone first (its own lease, read by its box sync's round)
      await page.waitForSelector('#boxes-section:not([hidden]) tr.self[data-box="box-1"]', { timeout: 10_000 });
      assert.match((await page.textContent("#boxes-status")) ?? "", /^shared store · read /);
      assert.deepEqual(
        (await boxRows(page)).map((r) => [r.box, r.cells[0], r.cells[1], r.cells[3]]),
        [["box-1", "box-1 (this box)", "alive", "0"]],
      );

      // a second box: its lease, and the claim of a task enqueued on box-1
      other = await PostgresSharedStore.open({ url, box: EVIL, connectTimeoutMs: 1500 });
      await other.heartbeat(Date.now(), 600_000);
      const task = (await d.inbox
        .plugin()
        .enqueue({ prompt: "a task for the other box", project: h.project("work") })) as {
        id: string;
      };
      const claim = await waitFor(
        async () => (await other!.claimTask(Date.now())) ?? null,
        10_000,
        "the task in the shared queue, claimed by the other box",
        100,
      );
      assert.equal(claim.task.id, task.id);
      const claimed = Date.now();
      await page.waitForFunction(
        ([evil, id]) => {
          const row = [...document.querySelectorAll("#boxes tbody tr")].find(
            (r) => r.getAttribute("data-box") === evil,
          );
          const cells = row ? [...row.querySelectorAll("td")].map((td) => td.textContent) : [];
          return (
            cells[0] === evil &&
            cells[1] === "alive" &&
            cells[3] === `1 (this box's: ${id})` &&
            document.querySelector(`tr[data-task="${id}"] td.state .runs-on`)?.textContent === ` runs on ${evil}`
          );
        },
        [EVIL, task.id],
        { timeout: 10_000 },
      );
      const shownAfter = Date.now() - claimed;
      assert.equal(await page.textContent(`tr[data-task="${task.id}"] td.state`), `queued runs on ${EVIL}`);
      const rows = await boxRows(page);
      assert.deepEqual(
        rows.map((r) => r.box),
        [EVIL, "box-1"],
      );
      assert.match(rows[0]!.cells[2] ?? "", /^\d+ s ago$/, "the other box's heartbeat's age");
      // the name is text: no element made of it, nothing ran
      assert.equal(await page.$$eval("img", (i) => i.length), 0, "no <img> from the box name");
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);

      // its lease runs out (heartbeat with a 1 s TTL, then silence): lapsed, its task requeued by box-1
      await other.heartbeat(Date.now(), 1_000);
      await page.waitForFunction(
        ([evil, id]) => {
          const row = [...document.querySelectorAll("#boxes tbody tr")].find(
            (r) => r.getAttribute("data-box") === evil,
          );
          return (
            row?.classList.contains("lease-lapsed") === true &&
            row.querySelector("td.lease")?.textContent === "lapsed" &&
            !document.querySelector(`tr[data-task="${id}"] td.state .runs-on`)
          );
        },
        [EVIL, task.id],
        { timeout: 12_000 },
      );
      assert.equal((await other.getTask(task.id))?.state, "queued", "requeued after the lapse");
      await other.close();
      other = null;

      // the database stops: the section says so (the rows are the last read's)
      await server.stop();
      const stopped = Date.now();
      await page.waitForFunction(
        () => /^database unreachable · as last read /.test(document.getElementById("boxes-status")?.textContent ?? ""),
        undefined,
        { timeout: 15_000 },
      );
      const unreachableAfter = Date.now() - stopped;
      assert.equal(
        await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload),
        1,
        "same page, no reload",
      );
      assert.deepEqual(
        (await boxRows(page)).map((r) => r.box),
        [EVIL, "box-1"],
      );
      const dir = process.env.CF_TEST_ARTIFACTS ?? join(tmpdir(), "claude-failover-artifacts");
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, "dashboard-boxes.png"), fullPage: true });
      assert.deepEqual(problems, [], "no page errors, no CSP violations");
      console.log(
        `# second box shown ${shownAfter} ms after its claim; "database unreachable" ${unreachableAfter} ms after PostgreSQL stopped`,
      );
      await server.start();
    });
  },
);
