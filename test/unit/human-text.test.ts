// Operator commands print sentences; refusals say what to do (issue 12, point 8).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeTrigger, explainError } from "../../src/cli/human.js";

describe("describeTrigger", () => {
  const cases: Array<[string, Record<string, unknown>, unknown, boolean, RegExp]> = [
    [
      "/trigger/swap",
      { session: "dev" },
      { ok: true, swapId: 3, from: "a", to: "b", durationMs: 4200, resent: true },
      true,
      /^swapped dev from a to b in 4\.2 s; the unanswered prompt was sent again$/,
    ],
    [
      "/trigger/swap",
      { session: "dev" },
      { ok: false, swapId: 4, outcome: "rolled_back", reason: "the CLI did not start" },
      false,
      /^the swap of dev was rolled back: the CLI did not start$/,
    ],
    [
      "/trigger/checkpoint",
      { session: "dev" },
      { ok: true, path: "/s/cp/dev/1.json", takenAt: 1 },
      true,
      /^took a checkpoint of dev: \/s\/cp\/dev\/1\.json$/,
    ],
    ["/trigger/restart", { session: "dev" }, { ok: true, session: "dev" }, true, /^restarted the CLI of dev/],
    ["/trigger/send", { session: "dev", text: "hi" }, { ok: true, session: "dev" }, true, /^sent the prompt to dev/],
    [
      "/trigger/command",
      { session: "dev", command: "/compact" },
      { ok: true, session: "dev", command: "/compact" },
      true,
      /^ran \/compact in dev; the CLI took it/,
    ],
    [
      "/trigger/account",
      { account: "a", action: "disable" },
      { ok: true, account: "a", state: "disabled" },
      true,
      /^account a is disabled now$/,
    ],
    [
      "/trigger/account-enable",
      { account: "a" },
      { ok: true, account: "a", state: "active" },
      true,
      /^account a is active now$/,
    ],
    [
      "/trigger/scale",
      { min: 1, max: 3 },
      { ok: true, min: 1, max: 3 },
      true,
      /^the pool now runs at least 1 and at most 3 pool sessions \(until the next reload or restart/,
    ],
  ];
  for (const [path, req, res, ok, re] of cases) {
    it(`${path} ${ok ? "ok" : "failed"}`, () => {
      const d = describeTrigger(path, req, res);
      assert.equal(d.ok, ok);
      assert.match(d.text, re);
    });
  }
});

describe("explainError", () => {
  const tf = "/home/u/.config/claude-failover/token.env";
  it("401/403: how to load the token", () => {
    const t = explainError({ status: 401, body: { error: { message: "missing Authorization header" } } }, tf);
    assert.equal(
      t,
      "the daemon refused the request (401: missing Authorization header): it needs the control-plane token. " +
        "Load it with `set -a; . /home/u/.config/claude-failover/token.env; set +a` and try again",
    );
  });
  it("409: what it was and where to look", () => {
    assert.match(
      explainError({ status: 409, body: { error: { message: "account second is exhausted" } } }, tf),
      /^refused: account second is exhausted\. Try again once that is over; `claude-failover status` shows/,
    );
  });
  it("404 and others", () => {
    assert.match(
      explainError({ status: 404, body: { error: { message: "no session named x" } } }, tf),
      /^no session named x; `claude-failover status` lists/,
    );
    assert.match(
      explainError({ status: 502, body: "tmux failed" }, tf),
      /^the daemon answered 502: tmux failed; its log/,
    );
  });
});
