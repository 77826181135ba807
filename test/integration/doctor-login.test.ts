// doctor's login-age checks (from the daemon's logins.json) and its usage-endpoint check, asked of a
// daemon's control socket (here a real HTTP server on a unix socket answering /accounts).
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fingerprint } from "../../src/accounts/login-ledger.js";
import { stateLayout } from "../../src/config/paths.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/types.js";
import { checkLogins, checkUsageEndpoint } from "../../src/ops/doctor-login.js";
import { pathsFor } from "../../src/config/paths.js";

const DAY = 86_400_000;

describe("doctor: logins and the usage endpoint", () => {
  let root: string;
  let c: Config;
  let server: Server | null = null;
  const now = Date.now();
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "cf-doclogin-"));
    for (const n of ["a", "b"]) {
      mkdirSync(join(root, n, ".claude"), { recursive: true });
      writeFileSync(
        join(root, n, ".claude", ".credentials.json"),
        JSON.stringify({
          claudeAiOauth: {
            accessToken: `sk-ant-oat01-${n}`,
            refreshToken: `sk-ant-ort01-${n}`,
            expiresAt: now + 3_600_000,
          },
        }),
        { mode: 0o600 },
      );
    }
    const yaml = `state_dir: ${join(root, "state")}\naccounts:\n  - { name: a, home: ${join(root, "a")} }\n  - { name: b, home: ${join(root, "b")} }\n`;
    const r = parseConfig(yaml, "config.yaml", { env: {}, home: root });
    assert.ok(r.ok, JSON.stringify(r));
    c = r.config;
    mkdirSync(c.state_dir, { recursive: true, mode: 0o700 });
  });
  afterEach(async () => {
    if (server) await new Promise((res) => server!.close(res));
    server = null;
    rmSync(root, { recursive: true, force: true });
  });

  it("no ledger yet: ok, 'not recorded yet'; a login 27 days old: a warning with the fix; one at least 3 days old: ok", () => {
    let checks = checkLogins(c, now);
    assert.deepEqual(
      checks.map((x) => x.status),
      ["ok", "ok"],
    );
    assert.match(checks[0]!.detail, /not recorded yet/);
    writeFileSync(
      stateLayout(c.state_dir).loginLedger,
      JSON.stringify({
        a: {
          fingerprint: fingerprint("sk-ant-ort01-a"),
          expiresAt: now,
          loginAt: now - 27 * DAY,
          firstSeenAt: now - 27 * DAY,
        },
        b: { fingerprint: fingerprint("sk-ant-ort01-b"), expiresAt: now, loginAt: null, firstSeenAt: now - 3 * DAY },
      }),
    );
    checks = checkLogins(c, now);
    assert.equal(checks[0]!.status, "warn");
    assert.match(
      checks[0]!.detail,
      /logged in 27d ago .*likely ends around .*logins reportedly end about 30 days after login/,
    );
    assert.equal(checks[0]!.fix, "claude-failover login a (before it ends, to keep the account usable)");
    assert.equal(checks[1]!.status, "ok");
    assert.match(checks[1]!.detail, /login at least 3d old .*ends by \d{4}-\d\d-\d\d at the latest/);
  });

  it("usage endpoint: no daemon → no check; refused → a warning naming the accounts; answering → ok", async () => {
    assert.equal(await checkUsageEndpoint(c), null);
    let accounts: unknown[] = [];
    server = createServer((req, res) => {
      res.writeHead(req.url === "/accounts" ? 200 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify(accounts));
    });
    await new Promise<void>((res) => server!.listen(pathsFor(c).controlSocket, res));
    accounts = [
      { name: "a", usage: { status: "refused" } },
      { name: "b", usage: { status: "ok" } },
    ];
    const refused = await checkUsageEndpoint(c);
    assert.equal(refused?.status, "warn");
    assert.match(refused.detail, /refuses this client .* for a:/);
    assert.match(refused.fix ?? "", /claude --version/);
    accounts = [
      { name: "a", usage: { status: "token_expired" } },
      { name: "b", usage: { status: "ok" } },
    ];
    const fine = await checkUsageEndpoint(c);
    assert.equal(fine?.status, "ok");
    assert.match(fine.detail, /1 token_expired, 1 ok.*refreshed by a running CLI: a/);
  });
});
