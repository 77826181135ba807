// The quota monitor end to end: usage endpoint figures, soft caps, a misbehaving endpoint.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLAUDE_BIN, makeHarness, type Harness } from "../support/harness.js";
import { typePrompt } from "../support/typing.js";
import { waitFor } from "../support/wait.js";
import type { Daemon } from "../../src/daemon.js";

const FAST_POLL = {
  poll_interval: "1s",
  poll_interval_min: "500ms",
  poll_interval_max: "2s",
  stale_after: "1m",
  min_dwell: "10m",
};
const usagePolls = (h: Harness, token: string) =>
  h.api.requests.filter((r) => r.path.startsWith("/api/oauth/usage") && r.token === token).length;

describe("threshold moves from usage figures", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2, config: { quota: { ...FAST_POLL, window_5h_threshold: 0.8 } } });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h.cleanup());

  it("keeps the session on A at 70 % and moves it to B at 85 % before any request fails", async () => {
    const a = h.accountTokens.a!;
    h.api.setUtilization(a, { five_hour: 70 });
    const polls = usagePolls(h, a);
    await waitFor(() => usagePolls(h, a) >= polls + 3, 30_000, "A polled three more times at 70 %");
    await waitFor(
      () => d.quota.lastDecisions.find((x) => x.session === "dev")?.kind === "stay",
      10_000,
      "stay decided",
    );
    assert.equal(d.sessions.get("dev")!.account, "a");
    assert.equal(d.store.listSwaps().length, 0, "nothing moved at 70 %");
    const stay = d.store
      .tailEvents(200)
      .filter((e) => e.kind === "quota.decision.stay" && e.session === "dev")
      .at(-1)!;
    assert.ok(
      (stay.data.reasons as string[]).some((r) => /a: 5h 70%/.test(r)),
      JSON.stringify(stay.data),
    );

    h.api.setUtilization(a, { five_hour: 85 });
    await waitFor(
      () => d.sessions.get("dev")?.account === "b" && d.store.lastSwap("dev")?.outcome === "ok",
      60_000,
      "moved to B",
    );
    const sw = d.store.lastSwap("dev")!;
    assert.equal(sw.reason, "quota_threshold");
    assert.equal(h.api.requests.filter((r) => r.status === 429).length, 0, "no request failed");
    const move = d.store.tailEvents(300).find((e) => e.kind === "quota.decision.move" && e.session === "dev")!;
    assert.ok(
      (move.data.reasons as string[]).some((r) => /a: 5h 85% ≥ 80%/.test(r)),
      JSON.stringify(move.data),
    );
    await typePrompt(h, "after the move");
    const t = await waitFor(() => h.api.turns().find((x) => x.userText === "after the move"), 30_000, "turn on B");
    assert.equal(t.token, h.accountTokens.b);
    // status shows figures with their age and source
    const st = JSON.parse((await h.cli("status", "--json")).out) as {
      accounts: { name: string; usage: { source: string; ageMs: number; fiveHour: { utilization: number } } }[];
    };
    const ua = st.accounts.find((x) => x.name === "a")!.usage;
    assert.equal(ua.source, "usage_api");
    assert.ok(ua.ageMs >= 0 && ua.ageMs < 60_000);
    assert.equal(ua.fiveHour.utilization, 0.85);
    // Every usage request presented itself as the configured CLI (the stand-in refuses anything else).
    const version = /^(\d+\.\d+\.\d+)/.exec(execFileSync(CLAUDE_BIN, ["--version"], { encoding: "utf8" }))![1];
    const usageReqs = h.api.requests.filter((r) => r.path.startsWith("/api/oauth/usage"));
    assert.ok(
      usageReqs.length > 0 && usageReqs.every((r) => r.userAgent === `claude-code/${version}` && r.status === 200),
      JSON.stringify(usageReqs.map((r) => [r.userAgent, r.status])),
    );
    // accounts --json: access-token expiry and the login's age (the harness's login predates the daemon: "at least").
    const acc = JSON.parse((await h.cli("accounts", "--json")).out) as {
      name: string;
      login: {
        accessTokenExpiresAt: number;
        hasRefreshToken: boolean;
        loginKnown: string;
        loginAgeMs: number;
        warning: string | null;
      };
    }[];
    const la = acc.find((x) => x.name === "a")!.login;
    assert.ok(la.accessTokenExpiresAt > Date.now() && la.hasRefreshToken, JSON.stringify(la));
    assert.equal(la.loginKnown, "at_least");
    assert.equal(la.warning, null);
    assert.match((await h.cli("accounts")).out, /LOGIN/);
  });
});

describe("soft caps", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2, config: { quota: FAST_POLL } });
    (h.configObject.accounts as { limits?: unknown }[])[0]!.limits = { hourly_msgs: 3 };
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h.cleanup());

  it("sends the fourth prompt within the hour on another account", async () => {
    for (const p of ["one", "two", "three"]) {
      await waitFor(() => d.sessions.get("dev")?.state === "idle", 30_000, "idle before prompt");
      await typePrompt(h, `cap prompt ${p}`);
      await waitFor(
        () => d.sessions.get("dev")?.lastPrompt === `cap prompt ${p}` && d.sessions.get("dev")?.lastPromptAnswered,
        30_000,
        `answered ${p}`,
      );
    }
    await waitFor(
      () => d.sessions.get("dev")?.account === "b" && d.sessions.get("dev")?.state === "idle",
      60_000,
      "moved off A after 3 prompts",
    );
    await typePrompt(h, "cap prompt four");
    const t = await waitFor(() => h.api.turns().find((x) => x.userText === "cap prompt four"), 30_000, "fourth prompt");
    assert.equal(t.token, h.accountTokens.b);
    for (const p of ["one", "two", "three"])
      assert.equal(h.api.turns().find((x) => x.userText === `cap prompt ${p}`)!.token, h.accountTokens.a);
  });
});

describe("a misbehaving usage endpoint", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2, config: { quota: { ...FAST_POLL, request_timeout: "1s" } } });
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h.cleanup());

  for (const mode of ["429", "500", "garbage", "hang", "401"] as const) {
    it(`answering ${mode}: no swap on missing figures, daemon up, backoff visible`, async () => {
      h.api.setUtilization(h.accountTokens.a!, { five_hour: 95 }); // would move, if anyone believed it
      h.api.setUsageMode(mode);
      const since = d.store.tailEvents(1)[0]!.id;
      await waitFor(
        () => d.store.eventsAfter(since, 1000).filter((e) => e.kind === "quota.poll_error").length >= 2,
        30_000,
        "poll errors seen",
      );
      const acc = JSON.parse((await h.cli("accounts", "--json")).out) as {
        name: string;
        usage: { status: string; backoffMs: number; error: string };
      }[];
      const ua = acc.find((x) => x.name === "a")!.usage;
      if (mode === "401") assert.equal(ua.status, "unavailable");
      else assert.ok(ua.status === "backoff" && ua.backoffMs > 0, JSON.stringify(ua));
      assert.ok(ua.error);
      assert.equal(d.store.listSwaps().length, 0, "no swap made on missing figures");
      assert.equal(d.accounts.row("a").state, "active", "account state not flapped");
      assert.equal(
        (await fetch(`http://${String((h.configObject.mcp_http as Record<string, unknown>).listen)}/health`)).status,
        200,
      );
      h.api.setUtilization(h.accountTokens.a!, { five_hour: 0 });
      h.api.setUsageMode("ok");
    });
  }
});

describe("an idle spare account whose access token expired", { timeout: 300_000 }, () => {
  let h: Harness;
  let d: Daemon;
  before(async () => {
    h = await makeHarness({ accounts: 2, config: { quota: FAST_POLL } });
    const b = (h.configObject.accounts as { name: string; home: string }[])[1]!;
    writeFileSync(
      join(b.home, ".claude", ".credentials.json"),
      JSON.stringify({
        claudeAiOauth: {
          accessToken: h.accountTokens.b,
          refreshToken: "sk-ant-ort01-b-spare",
          expiresAt: Date.now() - 3_600_000,
          scopes: ["user:inference", "user:profile"],
          subscriptionType: "max",
        },
      }),
      { mode: 0o600 },
    );
    d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "idle");
  });
  after(async () => h.cleanup());

  it("is not polled (it would 401) and shows token_expired with its reason, its expiry and its login", async () => {
    await waitFor(() => usagePolls(h, h.accountTokens.a!) >= 2, 30_000, "a polled");
    const acc = JSON.parse((await h.cli("accounts", "--json")).out) as {
      name: string;
      state: string;
      usage: { status: string; error: string };
      login: { accessTokenExpired: boolean; hasRefreshToken: boolean };
    }[];
    const b = acc.find((x) => x.name === "b")!;
    assert.equal(b.usage.status, "token_expired");
    assert.equal(b.usage.error, "access token expired; a running CLI refreshes it");
    assert.equal(b.state, "active", "not revoked");
    assert.deepEqual([b.login.accessTokenExpired, b.login.hasRefreshToken], [true, true]);
    assert.equal(usagePolls(h, h.accountTokens.b!), 0);
    assert.match((await h.cli("accounts")).out, /^b\s+active\s.*token_expired/m);
  });
});
