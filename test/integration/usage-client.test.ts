// The usage client over real HTTP against the stand-in, which answers like the real endpoint: only a
// claude-code/<version> User-Agent gets figures; anything else 429 with retry-after 0; a long block.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { httpUsageSource } from "../../src/quota/usage-client.js";
import { startStandInApi, type StandInApi } from "../support/stand-in-api.js";

describe("httpUsageSource against the stand-in", () => {
  let api: StandInApi;
  const tok = "sk-ant-oat01-usage-client";
  before(async () => {
    api = await startStandInApi({ tokens: [tok] });
    api.setUtilization(tok, { five_hour: 42, seven_day: 7 });
  });
  after(async () => api.close());

  it("calls as the CLI does (User-Agent claude-code/<version>, anthropic-beta) and parses the figures", async () => {
    let ua = "claude-code/2.1.197";
    const src = httpUsageSource(
      api.url,
      2_000,
      () => Date.now(),
      () => ua,
    );
    const n = api.requests.length;
    const r = await src(tok);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.figures.fiveHour?.utilization, 0.42);
    assert.equal(r.figures.sevenDay?.utilization, 0.07);
    const rec = api.requests[n]!;
    assert.equal(rec.userAgent, "claude-code/2.1.197");
    assert.equal(rec.headers["anthropic-beta"], "oauth-2025-04-20");
    assert.equal(rec.token, tok);
    // The identity is read at each request: a reload that finds another CLI version takes effect at once.
    ua = "claude-code/2.1.332";
    assert.ok((await src(tok)).ok);
    assert.equal(api.requests.at(-1)!.userAgent, "claude-code/2.1.332");
  });

  it("an unknown client is refused: rate_limited with retryAfterMs 0 (not null)", async () => {
    const src = httpUsageSource(
      api.url,
      2_000,
      () => Date.now(),
      () => "claude-failover/0.1.0",
    );
    const r = await src(tok);
    assert.deepEqual(r.ok ? null : { kind: r.kind, ra: r.kind === "rate_limited" ? r.retryAfterMs : undefined }, {
      kind: "rate_limited",
      ra: 0,
    });
  });

  it("a long block comes back with its retry-after in ms", async () => {
    const src = httpUsageSource(
      api.url,
      2_000,
      () => Date.now(),
      () => "claude-code/2.1.197",
    );
    api.setUsageMode("blocked");
    try {
      const r = await src(tok);
      assert.ok(!r.ok && r.kind === "rate_limited" && r.retryAfterMs === 3_600_000, JSON.stringify(r));
    } finally {
      api.setUsageMode("ok");
    }
  });
});
