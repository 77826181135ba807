// `events` of every box (issue 19 point 2): the /events route's boxes=all and box=, the events_tail MCP
// tool's boxes and box, and the CLI's --all-boxes / --box, against a facade whose events-of-every-box plugin
// records the query it gets. The plugin itself: boxes/shared-events.ts (test/unit/shared-events.test.ts,
// test/integration/shared-events-postgres.test.ts); through a daemon: test/e2e/multi-box-exhaustion.test.ts.
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { eventsBoxesQuery, fmtEventText } from "../../src/cli/main.js";
import { ControlApi, type AllBoxesEventsQuery } from "../../src/control/control-api.js";
import { buildMcpServer } from "../../src/control/mcp-server.js";
import { buildRoutes } from "../../src/control/routes.js";
import { ManualClock } from "../../src/util/clock.js";
import { CfError } from "../../src/util/errors.js";
import { createLogger } from "../../src/util/log.js";
import { callTool } from "../support/mcp-client.js";

const ROW = { id: 7, box: "box-2", localId: 3, ts: 0, kind: "swap.done", session: "dev", account: "a", data: {} };

function fixture(o: { down?: boolean; plugin?: boolean } = {}) {
  const queries: AllBoxesEventsQuery[] = [];
  const local: string[] = [];
  const api = new ControlApi({
    store: null as never,
    sessions: null as never,
    pane: null as never,
    accounts: null as never,
    clock: new ManualClock(0),
    plugins:
      o.plugin === false
        ? {}
        : {
            eventsAllBoxes: (q) => {
              queries.push(q);
              return o.down
                ? Promise.reject(new CfError("unavailable", "the shared store is unreachable now"))
                : Promise.resolve([ROW]);
            },
          },
  });
  Object.assign(api, {
    eventsTail: (n: number) => (local.push(`tail ${n}`), []),
    eventsAfter: (id: number) => (local.push(`after ${id}`), []),
  });
  const routes = buildRoutes(api);
  const get = (path: string) =>
    routes.get["/events"]!({
      req: null as never,
      res: null as unknown as ServerResponse,
      url: new URL(`http://x${path}`),
      body: undefined,
    });
  return { api, queries, local, get };
}

describe("/events with boxes=all", () => {
  it("reads every box's events through the plugin: the newest n, after an id, one box; the default is unchanged", async () => {
    const f = fixture();
    assert.deepEqual(await f.get("/events?boxes=all&n=3"), [ROW]);
    await f.get("/events?boxes=all&after=41");
    await f.get("/events?box=box-1&n=5000");
    await f.get("/events?boxes=all");
    assert.deepEqual(f.queries, [
      { limit: 3 },
      { afterId: 41, limit: 500 },
      { limit: 1000, box: "box-1" },
      { limit: 50 },
    ]);
    assert.deepEqual(f.local, []);
    await f.get("/events?n=4");
    await f.get("/events?boxes=this&after=2");
    assert.deepEqual(f.local, ["tail 4", "after 2"]);
    assert.throws(
      () => f.get("/events?boxes=sideways"),
      (e) => e instanceof CfError && e.code === "bad_request",
    );
  });

  it("unavailable (503) while the shared store is away, or without the plugin", async () => {
    await assert.rejects(
      Promise.resolve(fixture({ down: true }).get("/events?boxes=all")),
      (e) => e instanceof CfError && e.code === "unavailable",
    );
    await assert.rejects(
      Promise.resolve(fixture({ plugin: false }).get("/events?boxes=all")),
      (e) => e instanceof CfError && e.code === "unavailable",
    );
  });
});

describe("events_tail with boxes all", () => {
  async function connect(api: ControlApi) {
    const server = buildMcpServer(api, {
      triggersEnabled: () => false,
      token: () => "tok-abcdef0123456789abcdef",
      log: createLogger("silent"),
      version: "test",
    });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    const client = new Client({ name: "unit", version: "1" });
    await client.connect(b);
    return client;
  }

  it("passes n, box, session and kind_prefix to the plugin; without boxes it reads this box's log", async () => {
    const f = fixture();
    const c = await connect(f.api);
    const r = await callTool(c, "events_tail", { boxes: "all", n: 5, kind_prefix: "swap.", session: "dev" });
    assert.equal(r.isError, false);
    assert.deepEqual(JSON.parse(r.text), { events: [ROW] });
    await callTool(c, "events_tail", { box: "box-2" });
    assert.deepEqual(f.queries, [
      { limit: 5, session: "dev", kindPrefix: "swap." },
      { limit: 50, box: "box-2" },
    ]);
    await callTool(c, "events_tail", { n: 2 });
    await callTool(c, "events_tail", { boxes: "this", n: 3 });
    assert.deepEqual(f.local, ["tail 2", "tail 3"]);
    const bad = await callTool(c, "events_tail", { boxes: "some" });
    assert.equal(bad.isError, true);
    const down = await callTool(await connect(fixture({ down: true }).api), "events_tail", { boxes: "all" });
    assert.equal(down.isError, true);
    assert.match(down.text, /^unavailable: the shared store is unreachable/);
  });
});

describe("events --all-boxes", () => {
  it("asks /events for every box (or one), and shows each event's box", () => {
    assert.equal(eventsBoxesQuery({}), "");
    assert.equal(eventsBoxesQuery({ allBoxes: true }), "&boxes=all");
    assert.equal(eventsBoxesQuery({ box: "my box&x=1" }), "&boxes=all&box=my%20box%26x%3D1");
    const ts = Date.UTC(2026, 11, 1, 10);
    assert.equal(fmtEventText({ ...ROW, ts }), "2026-12-01T10:00:00.000Z [box-2] swap.done session=dev account=a {}\n");
    assert.equal(
      fmtEventText({ ...ROW, ts, box: undefined }),
      "2026-12-01T10:00:00.000Z swap.done session=dev account=a {}\n",
      "this box's own log: as before",
    );
    assert.equal(
      fmtEventText({ ...ROW, ts, box: "b\u001b[31m", kind: "k\n" }),
      "2026-12-01T10:00:00.000Z [b?[31m] k? session=dev account=a {}\n",
      "no control characters from the shared store reach the terminal",
    );
  });
});
