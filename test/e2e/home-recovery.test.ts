// An account revoked because its home could not be prepared comes back once a reload prepares it
// (credentials unchanged: only the home was wrong).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHarness, type Harness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

describe("a home that could not be prepared", { timeout: 120_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2 });
    const accounts = h.configObject.accounts as { home: string; link_files: string[] }[];
    // b links cfg/tool.conf from the user's home, but b's home has a regular file named cfg: preparing it fails.
    mkdirSync(join(h.root, "cfg"), { recursive: true });
    writeFileSync(join(h.root, "cfg", "tool.conf"), "x=1\n");
    accounts[1]!.link_files = ["cfg/tool.conf"];
    writeFileSync(join(accounts[1]!.home, "cfg"), "in the way");
    d = await h.start();
  });
  after(async () => h.cleanup());

  it("revokes the account, and a reload after the fix brings it back", async () => {
    const row = d.accounts.row("b");
    assert.equal(row.state, "revoked");
    assert.match(row.stateReason ?? "", /^home not usable/);
    rmSync(join((h.configObject.accounts as { home: string }[])[1]!.home, "cfg"));
    await d.reload(h.loadConfig());
    await waitFor(() => d.accounts.row("b").state === "active", 10_000, "b active again");
    assert.equal(d.accounts.row("b").stateReason, "home prepared");
  });
});
