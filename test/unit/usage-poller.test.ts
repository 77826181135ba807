// The usage poller as a backstop, on a manual clock (its own timer, no real sleep) with a fake UsageSource and a real store: the
// refusal of an unknown client detected and not retried in a loop, long blocks honoured for every
// account, fed accounts skipped, the box-wide request budget, expired access tokens not polled, and a
// newer status-line reading never overwritten by an endpoint reading.
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { AccountService } from "../../src/accounts/account-service.js";
import { feedIsFresh, REFUSED_AFTER, type PollParams } from "../../src/quota/poll-schedule.js";
import type { UsageFigures } from "../../src/quota/policy-types.js";
import type { UsageFetch, UsageSource } from "../../src/quota/usage-client.js";
import { TOKEN_EXPIRED_TEXT, UsagePoller } from "../../src/quota/usage-poller.js";
import { openDb } from "../../src/store/db.js";
import { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/util/clock.js";
import { createLogger, silentLogger } from "../../src/util/log.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const PARAMS: PollParams = {
  baseMs: 5 * MIN,
  minMs: MIN,
  maxMs: 30 * MIN,
  window5hThreshold: 0.85,
  windowWeekThreshold: 0.95,
  hysteresis: 0.05,
  requestGapMs: MIN,
};

const figures = (u: number, at: number, source: UsageFigures["source"] = "usage_api"): UsageFigures => ({
  fiveHour: { utilization: u, resetsAt: null },
  sevenDay: { utilization: 0.1, resetsAt: null },
  perModelWeekly: {},
  fetchedAt: at,
  source,
});

interface World {
  root: string;
  clock: ManualClock;
  store: Store;
  accounts: AccountService;
  names: string[];
  /** token → account name, for every request made */
  calls: { account: string; at: number }[];
  fed: Set<string>;
  logLines: Record<string, unknown>[];
  poller(answer: (account: string) => UsageFetch | Promise<UsageFetch>, params?: Partial<PollParams>): UsagePoller;
  /** Runs the poller's own timer (every 500 ms) for `ms` of the manual clock. */
  run(p: UsagePoller, ms: number): Promise<void>;
  writeCreds(name: string, o: { expiresAt: number | null; refreshToken?: string | null }): void;
}

function world(n: number): World {
  const root = mkdtempSync(join(tmpdir(), "cf-poller-"));
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 12));
  const store = new Store(openDb(join(root, "state")));
  const accounts = new AccountService({ store, clock, log: silentLogger() });
  const names = Array.from({ length: n }, (_, i) => `acct${String(i).padStart(2, "0")}`);
  const writeCreds: World["writeCreds"] = (name, o) => {
    const home = join(root, name);
    mkdirSync(join(home, ".claude"), { recursive: true });
    const refreshToken = o.refreshToken === undefined ? `rt-${name}` : o.refreshToken;
    writeFileSync(
      join(home, ".claude", ".credentials.json"),
      JSON.stringify({ claudeAiOauth: { accessToken: `tok-${name}`, refreshToken, expiresAt: o.expiresAt } }),
    );
  };
  accounts.configure(
    names.map((name, i) => {
      writeCreds(name, { expiresAt: clock.now() + 48 * HOUR });
      return {
        name,
        home: join(root, name),
        priority: i,
        managed: true,
        disabled: false,
        limits: { hourly_msgs: 0, weekly_msgs: 0 },
        link_files: [],
      };
    }),
  );
  const calls: World["calls"] = [];
  const fed = new Set<string>();
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split("\n")) if (l) logLines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return {
    root,
    clock,
    store,
    accounts,
    names,
    calls,
    fed,
    logLines,
    writeCreds,
    poller(answer, params = {}) {
      const source: UsageSource = async (token) => {
        const account = token.slice(4);
        calls.push({ account, at: clock.now() });
        return answer(account);
      };
      return new UsagePoller(
        { store, accounts, clock, log: createLogger("info", sink), feedFresh: (a) => fed.has(a) },
        { source, params: { ...PARAMS, ...params } },
      );
    },
    async run(p, ms) {
      p.start(500);
      await clock.advanceAsync(ms);
      p.stop();
    },
  };
}

describe("UsagePoller (backstop)", () => {
  let w: World;
  beforeEach(() => {
    w = world(4);
  });
  afterEach(() => {
    w.store.close();
    rmSync(w.root, { recursive: true, force: true });
  });

  it(`a 429 with retry-after 0, ${REFUSED_AFTER} times in a row, is "refused": backed off, logged once, shown for every account, probed every maxMs`, async () => {
    const p = w.poller(() => ({ ok: false, kind: "rate_limited", retryAfterMs: 0, detail: "429 (retry-after 0 s)" }));
    await w.run(p, 10 * MIN);
    // Not a tight loop: 1st at once, then 1 min and 2 min backoffs; the 3rd makes it "refused".
    assert.equal(w.calls.length, REFUSED_AFTER, JSON.stringify(w.calls));
    assert.ok(
      w.calls[1]!.at - w.calls[0]!.at >= MIN && w.calls[2]!.at - w.calls[1]!.at >= 2 * MIN,
      JSON.stringify(w.calls),
    );
    assert.notEqual(p.refusedSince(), null);
    for (const name of w.names) {
      const s = p.snapshot(name);
      assert.equal(s.status, "refused", name);
      assert.match(s.error ?? "", /refuses this client/);
    }
    await w.run(p, 2 * HOUR);
    const after = w.calls.slice(REFUSED_AFTER);
    assert.ok(after.length >= 3 && after.length <= 5, `probes in 2 h while refused: ${after.length}`);
    for (let i = 1; i < after.length; i++) assert.ok(after[i]!.at - after[i - 1]!.at >= PARAMS.maxMs);
    const refusedEvents = w.store.tailEvents(500).filter((e) => e.kind === "quota.usage_refused");
    assert.equal(refusedEvents.length, 1, "event once");
    assert.equal(w.logLines.filter((l) => /refuses this client/.test(String(l.msg))).length, 1, "logged once");
    assert.equal(
      w.logLines.filter((l) => l.msg === "usage poll failed").length,
      REFUSED_AFTER,
      "per-poll warnings stop once refused",
    );
  });

  it("a refusal ends with the first good answer", async () => {
    let refuse = true;
    const p = w.poller(() =>
      refuse
        ? { ok: false, kind: "rate_limited", retryAfterMs: 0, detail: "429" }
        : { ok: true, figures: figures(0.2, w.clock.now()) },
    );
    await w.run(p, 10 * MIN);
    assert.notEqual(p.refusedSince(), null);
    refuse = false;
    await w.run(p, 31 * MIN);
    assert.equal(p.refusedSince(), null);
    assert.ok(w.store.tailEvents(500).some((e) => e.kind === "quota.usage_refused_ended"));
    assert.ok(w.names.some((n) => p.snapshot(n).status === "ok"));
  });

  it("a long retry-after (an hour) is honoured for every account, then polling resumes", async () => {
    let blocked = true;
    const p = w.poller(() => {
      if (blocked) {
        blocked = false;
        return { ok: false, kind: "rate_limited", retryAfterMs: HOUR, detail: "429 (retry-after 3600 s)" };
      }
      return { ok: true, figures: figures(0.3, w.clock.now()) };
    });
    await w.run(p, 2_000);
    assert.equal(w.calls.length, 1);
    const t429 = w.calls[0]!.at;
    await w.run(p, HOUR - 5_000);
    assert.equal(w.calls.length, 1, "no request to any account during the block");
    for (const n of w.names)
      assert.ok((p.snapshot(n).nextPollAt ?? 0) >= t429 + HOUR, `${n}: next poll shown after the block`);
    await w.run(p, 5 * MIN);
    assert.ok(w.calls.length >= 2 && w.calls[1]!.at >= t429 + HOUR);
    assert.equal(p.refusedSince(), null, "a long block is not a refusal");
  });

  it("accounts with a fresh status-line feed are not polled; the feed's figures show as ok", async () => {
    const fedName = w.names[0]!;
    w.fed.add(fedName);
    w.store.putUsage({
      account: fedName,
      figures: figures(0.42, w.clock.now(), "statusline"),
      fetchedAt: w.clock.now(),
      source: "statusline",
      error: null,
      errorAt: null,
      nextPollAt: null,
      backoffMs: 0,
    });
    const p = w.poller(() => ({ ok: true, figures: figures(0.1, w.clock.now()) }));
    await w.run(p, HOUR);
    assert.equal(w.calls.filter((c) => c.account === fedName).length, 0);
    for (const n of w.names.slice(1))
      assert.ok(
        w.calls.some((c) => c.account === n),
        `${n} polled`,
      );
    const s = p.snapshot(fedName);
    assert.equal(s.status, "ok");
    assert.equal(s.figures.source, "statusline");
    assert.equal(s.figures.fiveHour?.utilization, 0.42);
  });

  it("feedIsFresh: a statusline row younger than the freshness only", () => {
    const now = 1_000_000;
    assert.equal(feedIsFresh({ source: "statusline", fetchedAt: now - 9 * MIN }, now, 10 * MIN), true);
    assert.equal(feedIsFresh({ source: "statusline", fetchedAt: now - 10 * MIN }, now, 10 * MIN), false);
    assert.equal(feedIsFresh({ source: "usage_api", fetchedAt: now }, now, 10 * MIN), false);
    assert.equal(feedIsFresh({ source: "statusline", fetchedAt: null }, now, 10 * MIN), false);
    assert.equal(feedIsFresh(undefined, now, 10 * MIN), false);
  });

  it("an endpoint reading never overwrites a newer status-line one", async () => {
    const name = w.names[0]!;
    for (const n of w.names.slice(1)) w.fed.add(n);
    const p = w.poller(async () => {
      // The feed writes while the request is in flight.
      w.clock.advance(200);
      w.store.putUsage({
        account: name,
        figures: figures(0.61, w.clock.now(), "statusline"),
        fetchedAt: w.clock.now(),
        source: "statusline",
        error: null,
        errorAt: null,
        nextPollAt: null,
        backoffMs: 0,
      });
      w.clock.advance(200);
      return { ok: true, figures: figures(0.5, w.clock.now()) };
    });
    await w.run(p, 1_000);
    assert.equal(w.calls.length, 1);
    const row = w.store.getUsage(name)!;
    assert.equal(row.source, "statusline");
    assert.equal((row.figures as UsageFigures).fiveHour?.utilization, 0.61);
    assert.ok((row.nextPollAt ?? 0) > w.clock.now(), "still scheduled");
  });

  it("an expired access token with a refresh token is not polled: token_expired with its reason; without one: needs login", async () => {
    const [a, b] = w.names;
    w.writeCreds(a!, { expiresAt: w.clock.now() - HOUR });
    w.writeCreds(b!, { expiresAt: w.clock.now() - HOUR, refreshToken: null });
    const p = w.poller(() => ({ ok: true, figures: figures(0.1, w.clock.now()) }));
    await w.run(p, 10 * MIN);
    assert.equal(w.calls.filter((c) => c.account === a || c.account === b).length, 0, "never asked (it would 401)");
    const sa = p.snapshot(a!);
    assert.equal(sa.status, "token_expired");
    assert.equal(sa.error, TOKEN_EXPIRED_TEXT);
    const sb = p.snapshot(b!);
    assert.equal(sb.status, "unavailable");
    assert.match(sb.error ?? "", /needs login/);
    // A CLI refreshes the token: the account is polled again.
    w.writeCreds(a!, { expiresAt: w.clock.now() + 8 * HOUR });
    await w.run(p, 5 * MIN);
    assert.ok(w.calls.some((c) => c.account === a));
    assert.equal(p.snapshot(a!).status, "ok");
  });

  it("budget: 20 accounts all near a threshold get at most one request a minute between them", async () => {
    const big = world(20);
    try {
      const p = big.poller(() => ({ ok: true, figures: figures(0.84, big.clock.now()) }));
      await big.run(p, HOUR);
      assert.ok(big.calls.length <= 61 && big.calls.length >= 55, `requests in an hour: ${big.calls.length}`);
      for (let i = 1; i < big.calls.length; i++) assert.ok(big.calls[i]!.at - big.calls[i - 1]!.at >= MIN);
      // Fair: every account got figures.
      for (const n of big.names)
        assert.ok(
          big.calls.some((c) => c.account === n),
          n,
        );
    } finally {
      big.store.close();
      rmSync(big.root, { recursive: true, force: true });
    }
  });

  it("still figures are polled every maxMs, moving ones every baseMs", async () => {
    const [still, moving] = w.names;
    for (const n of w.names.slice(2)) w.fed.add(n);
    let u = 0.1;
    const p = w.poller((a) => ({ ok: true, figures: figures(a === moving ? (u += 0.01) : 0.2, w.clock.now()) }));
    await w.run(p, 2 * HOUR);
    const count = (n: string) => w.calls.filter((c) => c.account === n).length;
    assert.ok(count(still!) >= 4 && count(still!) <= 6, `still: ${count(still!)}`);
    // First reading: nothing to compare, so maxMs; every 5 min after that.
    assert.ok(count(moving!) >= 17, `moving: ${count(moving!)}`);
  });
});
