// The dashboard in a real browser: Debian's chromium driven by playwright-core against a real daemon
// (real CLI, real tmux, stand-in API). Skipped with a note when /usr/bin/chromium is missing, failed
// instead when CI is set (scripts/test.sh installs it as root). The screenshot goes to $CF_TEST_ARTIFACTS (default
// <tmp>/claude-failover-artifacts); CF_DOCS_SCREENSHOT=1 also copies it to docs/dashboard.png.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { makeHarness, REPO, type Harness } from "../support/harness.js";
import { typePrompt } from "../support/typing.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

const CHROMIUM = process.env.CF_CHROMIUM ?? "/usr/bin/chromium";
const EVIL = "<script>window.__pwned=1</script>";

const MISSING = `${CHROMIUM} missing (apt-get install chromium)`;

// Under CI a missing browser is a failure, not a silent skip: the dashboard would go untested.
if (!existsSync(CHROMIUM) && process.env.CI) {
  it("dashboard (chromium): the browser is installed", () =>
    assert.fail(`${MISSING}: CI must run the dashboard's browser test (scripts/test.sh installs it as root)`));
}

describe("dashboard (chromium)", { timeout: 180_000, skip: !existsSync(CHROMIUM) && MISSING }, () => {
  let h: Harness;
  let d: Daemon;
  let browser: Browser;
  let page: Page;
  let base: string;
  /** console errors and page errors (a CSP violation shows here) */
  const problems: string[] = [];
  before(async () => {
    h = await makeHarness({ accounts: 2, dedicated: [{ name: "one" }, { name: "two", account: "b" }] });
    // A project whose path holds markup: shown as text.
    const dedicated = h.configObject.dedicated as { name: string; project: string }[];
    dedicated[1]!.project = h.project(`x${EVIL}`);
    // A pool with a project and no sessions (max 0): a task enqueued from the page stays queued, to cancel.
    h.configObject.pool = { min: 0, max: 0, project: h.project("work") };
    h.writeConfig();
    // Figures to draw (below the 85 % threshold: nothing moves on its own).
    h.api.setUtilization(h.accountTokens.a!, { five_hour: 42, seven_day: 15 });
    h.api.setUtilization(h.accountTokens.b!, { five_hour: 63, seven_day: 31 });
    d = await h.start();
    base = `http://${String((h.configObject.mcp_http as Record<string, unknown>).listen)}`;
    await waitFor(
      () => d.sessions.get("one")?.state === "idle" && d.sessions.get("two")?.state === "idle",
      90_000,
      "both idle",
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    page = await (await browser.newContext({ viewport: { width: 1100, height: 1400 } })).newPage();
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await h?.cleanup();
  });

  it("answers 401 without the cookie: the page (a login form), its state and its event stream", async () => {
    const pageRes = await fetch(`${base}/ui`);
    assert.equal(pageRes.status, 401);
    assert.match(await pageRes.text(), /<form method="post" action="\/ui\/login"/);
    assert.match(pageRes.headers.get("content-security-policy") ?? "", /script-src 'self'; style-src 'self'/);
    for (const path of ["/ui/stream", "/ui/state", "/ui/pane?name=one"])
      assert.equal((await fetch(`${base}${path}`)).status, 401, path);
    assert.equal(
      (await fetch(`${base}/ui/stream`, { headers: { authorization: `Bearer ${h.token}`, cookie: "cf_ui=forged" } }))
        .status,
      401,
      "the bearer header is no cookie",
    );
    const wrong = await fetch(`${base}/ui/login`, {
      method: "POST",
      body: "token=wrong-token-wrong-token",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(wrong.status, 401);
  });

  it("after logging in shows both accounts' bars and both sessions, markup as text, live", async () => {
    await page.goto(`${base}/ui`);
    await page.fill("#token", h.token);
    await page.click("button[type=submit]");
    await page.waitForSelector("#conn.live", { timeout: 10_000 }).catch((e: Error) => {
      throw new Error(`${e.message}\n${problems.join("\n")}\n${page.url()}`);
    });
    const cookie = (await page.context().cookies()).find((c) => c.name === "cf_ui")!;
    assert.ok(cookie, "session cookie set");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.notEqual(cookie.value, h.token);
    assert.ok(!cookie.value.includes(h.token));
    await page.waitForSelector('[data-account="a"] .bar', { timeout: 30_000 });
    await page.waitForSelector('[data-account="b"] .bar', { timeout: 30_000 });
    assert.deepEqual(
      await page.$$eval("#sessions tbody tr", (rows) => rows.map((r) => r.getAttribute("data-session"))),
      ["one", "two"],
    );
    assert.equal(await page.isHidden("#boxes-section"), true, "no Boxes section with store.backend: sqlite");
    const project = await page.textContent('tr[data-session="two"] td.project');
    assert.ok(project?.endsWith(`x${EVIL}`), String(project));
    // A prompt with markup in it: text in the table, nothing ran.
    await typePrompt(h, `${EVIL} hello`, "one");
    await page.waitForFunction(
      (t) => document.querySelector('tr[data-session="one"] td.prompt')?.textContent === t,
      `${EVIL} hello`,
      { timeout: 30_000 },
    );
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal(await page.$$eval("script", (s) => s.length), 2, "only our two scripts");
    await waitFor(() => d.sessions.get("one")?.state === "idle", 30_000, "one idle");
  });

  it("a swap through the CLI shows within 2 s, without a reload", async () => {
    await page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 1));
    assert.equal(await page.textContent('tr[data-session="one"] td.account'), "a");
    const r = await h.cli("swap", "one", "--to", "b");
    assert.equal(r.code, 0, r.err);
    const done = Date.now();
    // The finished swap: account b and the swap's outcome (the account alone changes mid-swap already).
    await page.waitForFunction(
      () =>
        document.querySelector('tr[data-session="one"] td.account')?.textContent === "b" &&
        /^a → b ok/.test(document.querySelector('tr[data-session="one"] td.swap')?.textContent ?? ""),
      undefined,
      { timeout: 2_000 },
    );
    const shownAfter = Date.now() - done;
    assert.ok(shownAfter <= 2_000, `${shownAfter} ms`);
    assert.equal(
      await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload),
      1,
      "same page, no reload",
    );
    await page.waitForFunction(
      () => [...document.querySelectorAll("#markers li")].some((li) => li.textContent?.includes("one: moved a → b")),
      undefined,
      { timeout: 2_000 },
    );
    // Hovering the swap's marker on the chart shows what happened and why.
    const sw = d.store.lastSwap("one")!;
    const spot = await page.evaluate((at) => {
      const box = document.getElementById("chart")!;
      const over = box.querySelector(".u-over")!.getBoundingClientRect();
      const since = Number(box.dataset.since);
      const now = Number(box.dataset.now);
      return { x: over.left + ((at - since) / (now - since)) * over.width, y: over.top + over.height / 2 };
    }, sw.endedAt!);
    await page.mouse.move(spot.x, spot.y);
    await page.waitForFunction(
      () =>
        /swap\.done: one: moved a → b \(manual\)/.test(document.getElementById("tip")?.textContent ?? "") &&
        !document.getElementById("tip")!.hidden,
      undefined,
      { timeout: 2_000 },
    );
    const dir = process.env.CF_TEST_ARTIFACTS ?? join(tmpdir(), "claude-failover-artifacts");
    mkdirSync(dir, { recursive: true });
    const shot = join(dir, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot));
    if (process.env.CF_DOCS_SCREENSHOT === "1") copyFileSync(shot, join(REPO, "docs", "dashboard.png"));
    console.log(`# dashboard screenshot: ${shot} (shown ${shownAfter} ms after the swap returned)`);
  });

  it("fits a phone-sized screen (tables scroll inside their box, the page does not)", async () => {
    const phone = await page.context().newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${base}/ui`);
    await phone.waitForSelector("#conn.live", { timeout: 10_000 });
    await phone.waitForSelector('[data-account="b"] .bar', { timeout: 10_000 });
    const widths = await phone.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      view: window.innerWidth,
    }));
    assert.ok(widths.page <= widths.view, JSON.stringify(widths));
    await phone.close();
  });

  it("is read-only while enable_trigger is off", async () => {
    assert.equal(await page.isHidden("#controls"), true);
    assert.equal(
      await page.$$eval('tr[data-session="one"] button', (b) => b.map((x) => x.textContent)).then((t) => t.join(",")),
      "Pane",
    );
    const status = await page.evaluate(
      async () =>
        (
          await fetch("/ui/action", {
            method: "POST",
            headers: { "content-type": "application/json", "x-cf-ui": "1" },
            body: JSON.stringify({ action: "restart", session: "one" }),
          })
        ).status,
    );
    assert.equal(status, 403);
    // The pane's tail, as text.
    await page.click('tr[data-session="one"] button');
    await page.waitForFunction(
      () => /^one\n\n[\s\S]*Claude Code/.test(document.getElementById("pane")?.textContent ?? ""),
      undefined,
      { timeout: 5_000 },
    );
  });

  it("with enable_trigger (reloaded) its buttons go through the facade and show the result", async () => {
    const next = h.loadConfig();
    next.mcp_http.enable_trigger = true;
    await d.reload(next);
    await page.waitForSelector("#controls", { state: "visible", timeout: 7_000 });
    const before = d.store.tailEvents(1, { kindPrefix: "checkpoint.taken" })[0]?.id ?? 0;
    await page.click('tr[data-session="two"] button:has-text("Checkpoint")');
    await page.waitForFunction(
      () => /^done: .*"path"/.test(document.getElementById("result")?.textContent ?? ""),
      undefined,
      { timeout: 15_000 },
    );
    assert.ok(d.store.eventsAfter(before, 50).some((e) => e.kind === "checkpoint.taken" && e.session === "two"));
    await page.click('[data-account="a"] button:has-text("Disable")');
    await page.waitForFunction(
      () => (document.getElementById("result")?.textContent ?? "").startsWith("done: "),
      undefined,
      { timeout: 5_000 },
    );
    assert.equal(d.accounts.row("a").state, "disabled");
    await page.waitForSelector('[data-account="a"] button:has-text("Enable")', { timeout: 5_000 });
    await page.click('[data-account="a"] button:has-text("Enable")');
    await waitFor(() => d.accounts.row("a").state === "active", 5_000, "a enabled again");
    // A task enqueued from the page (the pool has no sessions: it stays queued), then cancelled from its row.
    await page.fill("#enqueue textarea", "a task to cancel");
    await page.click("#enqueue button");
    await page.waitForFunction(
      () => (document.getElementById("result")?.textContent ?? "").startsWith("done: "),
      undefined,
      { timeout: 5_000 },
    );
    const queued = d.inbox.tasks.list().find((t) => t.prompt === "a task to cancel")!;
    assert.equal(queued.state, "queued");
    await page.click(`tr[data-task="${queued.id}"] button:has-text("Cancel")`);
    await waitFor(() => d.inbox.tasks.get(queued.id)?.state === "cancelled", 5_000, "task cancelled from the page");
    await page.waitForSelector(`tr[data-task="${queued.id}"].task-cancelled`, { timeout: 7_000 });
    assert.equal(
      await page.locator(`tr[data-task="${queued.id}"] button:has-text("Cancel")`).count(),
      0,
      "no Cancel on an ended task",
    );
    // Refused by the facade: the reason is shown, nothing happens.
    await page.fill("#enqueue textarea", "/logout now");
    await page.click("#enqueue button");
    await page.waitForFunction(
      () => (document.getElementById("result")?.textContent ?? "").startsWith("refused: "),
      undefined,
      { timeout: 5_000 },
    );
    assert.equal(d.inbox.tasks.list().filter((t) => t.prompt.startsWith("/logout")).length, 0);
    // A cross-site style request (no x-cf-ui header) is refused even now.
    const forged = await page.evaluate(
      async () =>
        (
          await fetch("/ui/action", {
            method: "POST",
            headers: { "content-type": "text/plain" },
            body: JSON.stringify({ action: "restart", session: "one" }),
          })
        ).status,
    );
    assert.equal(forged, 403);
  });

  it("the stream ends after logout", async () => {
    await page.click("header form button");
    await page.waitForSelector("#token");
    assert.equal(await page.evaluate(async () => (await fetch("/ui/state")).status), 401);
  });
});
