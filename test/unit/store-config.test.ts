// store.backend, store.postgres_url_env and box.name (config/store-config.ts): defaults, and errors that say
// what and where without ever echoing a URL (it may hold a password).
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { describe, it } from "node:test";
import { formatIssue, parseConfig, type Config } from "../../src/config/load.js";
import { diffConfig } from "../../src/config/diff.js";
import { defaultBoxName } from "../../src/config/store-config.js";
import { leaseParams } from "../../src/config/params.js";

const ACCOUNT = ["accounts:", "  - name: a", "    home: /home/u/a"];
const yaml = (...lines: string[]) => [...ACCOUNT, ...lines].join("\n") + "\n";

function parse(text: string, host?: string) {
  return parseConfig(text, "config.yaml", {
    env: {},
    home: "/home/u",
    ...(host === undefined ? {} : { hostname: host }),
  });
}
function config(text: string, host?: string): Config {
  const r = parse(text, host);
  if (!r.ok) assert.fail(r.issues.map(formatIssue).join("\n"));
  return r.config;
}
function errors(text: string): string[] {
  const r = parse(text, "h");
  assert.equal(r.ok, false, "expected the config to be rejected");
  return r.ok ? [] : r.issues.map(formatIssue);
}

describe("store and box config", () => {
  it("defaults: sqlite, and the host name as the box name", () => {
    const c = config(yaml(), "build-01.example.org");
    assert.deepEqual(c.store, { backend: "sqlite", lease_ttl: 30_000 });
    assert.deepEqual(c.box, { name: "build-01.example.org" });
    assert.equal(config(yaml()).box.name, defaultBoxName(hostname()), "without a host name given: os.hostname()");
  });

  it("a host name outside the box-name characters is made to fit", () => {
    assert.equal(defaultBoxName("my laptop (2)"), "my-laptop--2-");
    assert.equal(defaultBoxName("-_x"), "x");
    assert.equal(defaultBoxName("é"), "box");
    assert.equal(defaultBoxName("a".repeat(80)).length, 63);
  });

  it("postgres with the variable's name", () => {
    const c = config(yaml("store:", "  backend: postgres", "  postgres_url_env: CF_PG_URL", "box:", "  name: box-2"));
    assert.deepEqual(c.store, { backend: "postgres", postgres_url_env: "CF_PG_URL", lease_ttl: 30_000 });
    assert.equal(c.box.name, "box-2");
  });

  it("postgres without postgres_url_env is an error naming the key and what to put there", () => {
    const [e, ...rest] = errors(yaml("store:", "  backend: postgres"));
    assert.deepEqual(rest, []);
    assert.match(
      e!,
      /^config\.yaml:\d+: store\.postgres_url_env: is required with store\.backend: postgres: the name of the environment variable/,
    );
  });

  it("a URL put in postgres_url_env is refused without being shown", () => {
    const all = errors(yaml("store:", "  backend: postgres", "  postgres_url_env: postgresql://cf:s3cret@db.lan/cf"));
    assert.equal(all.length, 1);
    assert.match(
      all[0]!,
      /store\.postgres_url_env: must be the name of an environment variable that holds the URL, not the URL itself/,
    );
    assert.ok(!all[0]!.includes("s3cret"), all[0]);
  });

  it("an unknown backend, a bad box name and an unknown key are errors", () => {
    assert.match(errors(yaml("store:", "  backend: mysql")).join("\n"), /store\.backend: .*sqlite.*postgres/);
    assert.match(
      errors(yaml("box:", "  name: 'two words'")).join("\n"),
      /box\.name: must be 1-63 letters, digits, '_', '\.' or '-'.*got "two words"/,
    );
    assert.match(errors(yaml("store:", "  url: x")).join("\n"), /store\.url: unknown key/);
  });

  it("store.lease_ttl: a duration from 3s to 1h, mapped to the lease TTL and a heartbeat a third of it (at most 10 s)", () => {
    const c = config(yaml("store:", "  backend: postgres", "  postgres_url_env: X", "  lease_ttl: 2m"));
    assert.equal(c.store.lease_ttl, 120_000);
    assert.deepEqual(leaseParams(c), { leaseTtlMs: 120_000, heartbeatMs: 10_000 });
    assert.deepEqual(leaseParams(config(yaml())), { leaseTtlMs: 30_000, heartbeatMs: 10_000 }, "the default: 30s");
    assert.deepEqual(leaseParams(config(yaml("store:", "  lease_ttl: 6s"))), { leaseTtlMs: 6_000, heartbeatMs: 2_000 });
    assert.equal(config(yaml("store:", "  lease_ttl: 1h")).store.lease_ttl, 3_600_000);
    // errors name the file, the line and the key
    const [low, ...r1] = errors(yaml("store:", "  backend: sqlite", "  lease_ttl: 2s"));
    assert.deepEqual(r1, []);
    assert.match(low!, /^config\.yaml:6: store\.lease_ttl: must be at least 3000ms/);
    assert.match(
      errors(yaml("store:", "  lease_ttl: 2h"))[0]!,
      /^config\.yaml:5: store\.lease_ttl: must be at most 1h/,
    );
    assert.match(
      errors(yaml("store:", "  lease_ttl: soon"))[0]!,
      /^config\.yaml:5: store\.lease_ttl: must be .*got "soon"/,
    );
    assert.match(errors(yaml("store:", "  lease_ttl: 30"))[0]!, /^config\.yaml:5: store\.lease_ttl: must be /);
  });

  it("changing them needs a restart", () => {
    const a = config(yaml(), "h1");
    const b = config(yaml("store:", "  backend: postgres", "  postgres_url_env: X", "box:", "  name: h2"), "h1");
    assert.deepEqual(diffConfig(a, b).needsRestart, ["store", "box.name"]);
  });
});
