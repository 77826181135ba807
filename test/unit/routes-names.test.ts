// The account routes under their names (docs/architecture.md, Glossary): /trigger/account-enable and
// /trigger/account-disable, and the deprecated /trigger/account still answering, with a Deprecation header
// and a warning in the daemon's log.
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { ControlApi } from "../../src/control/control-api.js";
import { buildRoutes } from "../../src/control/routes.js";
import { ManualClock } from "../../src/util/clock.js";

function fixture() {
  const seen: string[] = [];
  const warned: string[] = [];
  const api = new ControlApi({
    store: null as never,
    sessions: null as never,
    pane: null as never,
    accounts: null as never,
    clock: new ManualClock(0),
    plugins: {
      account: (name, action) => (seen.push(`${action} ${name}`), { ok: true, account: name }),
    },
  });
  const routes = buildRoutes(api, {
    log: { warn: (_o: unknown, msg?: string) => void warned.push(String(msg)) },
  });
  const call = (path: string, body: unknown) => {
    const headers: Record<string, string> = {};
    const res = {
      setHeader: (k: string, v: string) => void (headers[k.toLowerCase()] = v),
    } as unknown as ServerResponse;
    const handler = routes.trigger[path];
    assert.ok(handler, path);
    const out = handler({ req: null as never, res, url: new URL(`http://x${path}`), body });
    return { out, headers };
  };
  return { seen, warned, call };
}

describe("account routes", () => {
  it("account-enable and account-disable take {account}, with no deprecation", () => {
    const f = fixture();
    assert.deepEqual(f.call("/trigger/account-enable", { account: "a" }).out, { ok: true, account: "a" });
    const dis = f.call("/trigger/account-disable", { account: "b" });
    assert.equal(dis.headers.deprecation, undefined);
    assert.deepEqual(f.seen, ["enable a", "disable b"]);
    assert.deepEqual(f.warned, []);
    assert.throws(() => f.call("/trigger/account-enable", { account: "a", action: "disable" }), /invalid_input|action/);
  });

  it("the deprecated /trigger/account still works, with a Deprecation header and a warning", () => {
    const f = fixture();
    const r = f.call("/trigger/account", { account: "a", action: "disable" });
    assert.deepEqual(r.out, { ok: true, account: "a" });
    assert.equal(r.headers.deprecation, "true");
    assert.match(r.headers.link ?? "", /\/trigger\/account-enable/);
    assert.deepEqual(f.seen, ["disable a"]);
    assert.equal(f.warned.length, 1);
    assert.match(
      f.warned[0]!,
      /\/trigger\/account is deprecated: use \/trigger\/account-enable or \/trigger\/account-disable/,
    );
  });
});
