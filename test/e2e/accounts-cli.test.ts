// Operator account commands and the event log, through the CLI against a running daemon.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

describe("accounts and events commands", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({
      accounts: 2,
      config: { quota: { poll_interval: "1s", poll_interval_min: "500ms", poll_interval_max: "2s" } },
    });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h.cleanup());

  it("lists accounts with state, figures, token expiry and sessions", async () => {
    await waitFor(() => d.poller.snapshot("a").status === "ok", 20_000, "figures for a");
    const r = await h.cli("accounts", "--json");
    assert.equal(r.code, 0, r.err);
    const acc = JSON.parse(r.out) as {
      name: string;
      state: string;
      sessions: string[];
      credentials: { present: boolean; expiresAt: number };
      usage: { status: string };
    }[];
    const a = acc.find((x) => x.name === "a")!;
    assert.equal(a.state, "active");
    assert.deepEqual(a.sessions, ["dev"]);
    assert.ok(a.credentials.present && a.credentials.expiresAt > Date.now());
    assert.equal(a.usage.status, "ok");
    const table = await h.cli("accounts");
    assert.match(table.out, /^NAME\s+STATE/m);
    assert.match(table.out, /^a\s+active/m);
  });

  it("moves the sessions off a disabled account, and enables it again", async () => {
    const r = await h.cli("accounts", "disable", "a");
    assert.equal(r.code, 0, r.err);
    await waitFor(
      () => d.sessions.get("dev")?.account === "b" && d.store.lastSwap("dev")?.outcome === "ok",
      60_000,
      "moved to b",
    );
    assert.equal(d.accounts.row("a").state, "disabled");
    assert.equal((await h.cli("accounts", "enable", "a")).code, 0);
    assert.equal(d.accounts.row("a").state, "active");
    const bad = await h.cli("accounts", "disable", "nope");
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /no account named nope/);
  });

  it("scale sets the pool's size over the socket, recorded as pool.limits; a bad flag exits 2", async () => {
    const r = await h.cli("scale", "--min", "0", "--max", "2");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^the pool now runs at least 0 and at most 2 pool sessions/);
    const ev = d.store.tailEvents(50).filter((e) => e.kind === "pool.limits");
    assert.deepEqual(ev.at(-1)?.data, { min: 0, max: 2, before: { min: 0, max: 0 } });
    assert.equal((await h.cli("scale", "--max", "0")).code, 0);
    const bad = await h.cli("scale", "--min", "3", "--max", "1");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--min 3 must not be above --max 1/);
  });

  it("prints the decision and audit log", async () => {
    const r = await h.cli("events", "-n", "200");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /account\.state .*account=a .*"to":"disabled"/);
    assert.match(r.out, /quota\.decision\.(move|stay) session=dev/);
    assert.match(r.out, /swap\.done session=dev account=b/);
  });
});
