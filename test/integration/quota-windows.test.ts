// The soak's "no account answers past its hard limit" check (test/scale/windows.ts) against the real
// stand-in API over HTTP: a turn counts in the window the stand-in counted it in, decided when its request
// arrived. The window roll is driven by hand (tick(now)) so the interleavings are forced, not waited for.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStandInApi, type StandInApi } from "../support/stand-in-api.js";
import { QuotaWindows } from "../scale/windows.js";
import { TurnLog } from "../scale/ledger.js";

const TOOLS = [{ name: "Bash", description: "run", input_schema: { type: "object", properties: {} } }];
const CAP = 20;

describe("quota windows: 200 answers per window as the stand-in counted them", () => {
  let api: StandInApi;
  let n = 0;
  before(async () => {
    api = await startStandInApi();
  });
  after(async () => {
    await api.close();
  });

  /** One turn request on `token`; resolves with its HTTP status once answered. */
  async function turn(token: string, text = "hello"): Promise<number> {
    const res = await fetch(`${api.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        model: "claude-test",
        max_tokens: 10,
        tools: TOOLS,
        messages: [{ role: "user", content: [{ type: "text", text }] }],
      }),
    });
    await res.arrayBuffer();
    return res.status;
  }
  async function turns(token: string, count: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(await turn(token));
    return out;
  }

  /** Windows on one account `c`, the first one already due to roll (its reset in the past); no timer. */
  function setup(): { token: string; windows: QuotaWindows; log: TurnLog } {
    const token = `sk-ant-oat01-c-${++n}`;
    const windows = new QuotaWindows(api, { c: token }, CAP, 45_000);
    windows.start(Date.now() - 120_000);
    windows.stop();
    return { token, windows, log: new TurnLog(api) };
  }

  it("a turn decided in the millisecond the window rolls counts in the window that answered it", async () => {
    // chaos seed 424242, 30 min under load: "c: 21 answers in the window from 07:19:59 (cap 20)". The
    // 20th turn was decided on the old count; the roll ran later in the same millisecond, so by time
    // alone (t < end) that turn fell into the new window, which then answered its own 20.
    const { token, windows, log } = setup();
    assert.deepEqual(await turns(token, CAP), Array(CAP).fill(200));
    const last = api.requests.at(-1)!;
    windows.tick(last.time);
    assert.deepEqual(await turns(token, CAP + 1), [...Array(CAP).fill(200), 429]);
    log.scan();
    assert.deepEqual(windows.overCap(log.facts), []);
  });

  it("a turn answered after the roll counts where it was decided, at its arrival", async () => {
    const { token, windows, log } = setup();
    assert.deepEqual(await turns(token, CAP - 1), Array(CAP - 1).fill(200));
    const slow = turn(token, "SLOW:300");
    await api.waitForRequest((r) => r.token === token && r.userText === "SLOW:300", 5000);
    windows.tick(Date.now());
    assert.deepEqual(await turns(token, CAP), Array(CAP).fill(200));
    assert.equal(await slow, 200);
    log.scan();
    assert.deepEqual(windows.overCap(log.facts), []);
  });

  it("still reports a window that answered more than its cap", async () => {
    // A stand-in answering a 21st turn (here: its cap raised behind the windows' back) is caught.
    const { token, windows, log } = setup();
    windows.tick(Date.now());
    api.setCap(token, CAP + 1);
    assert.deepEqual(await turns(token, CAP + 2), [...Array(CAP + 1).fill(200), 429]);
    log.scan();
    const over = windows.overCap(log.facts);
    assert.equal(over.length, 1);
    assert.match(over[0]!, /^c: 21 answers in the window from .* \(cap 20\)$/);
  });
});
