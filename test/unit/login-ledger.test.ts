// Login times inferred from the credentials file: rotation vs new login, the warning ahead of a
// login's likely end, the ledger file (0600, fingerprints only), the accounts table cell.
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  fingerprint,
  LOGIN_LIFETIME_MS,
  LoginLedger,
  loginView,
  nextLoginRecord,
  type LoginObservation,
  type LoginRecord,
} from "../../src/accounts/login-ledger.js";
import { loginCell } from "../../src/cli/format.js";
import { stateLayout } from "../../src/config/paths.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T = Date.UTC(2026, 10, 30, 12);

describe("nextLoginRecord", () => {
  const seen = (rt: string | null, expiresAt: number | null, writtenAt: number): LoginObservation => ({
    refreshToken: rt,
    expiresAt,
    writtenAt,
  });
  const first: LoginRecord = {
    fingerprint: fingerprint("rt1"),
    expiresAt: T + 8 * HOUR,
    loginAt: null,
    firstSeenAt: T,
  };
  const rows: { name: string; prev: LoginRecord | undefined; obs: LoginObservation; want: Partial<LoginRecord> }[] = [
    {
      name: "first look: login time unknown, first seen now",
      prev: undefined,
      obs: seen("rt1", T + 8 * HOUR, T - DAY),
      want: { loginAt: null, firstSeenAt: T + HOUR },
    },
    {
      name: "same token, new expiry recorded",
      prev: first,
      obs: seen("rt1", T + 9 * HOUR, T),
      want: { loginAt: null, expiresAt: T + 9 * HOUR, firstSeenAt: T },
    },
    {
      name: "new token written 2 min before the old access token expired: a rotation (same login)",
      prev: first,
      obs: seen("rt2", T + 16 * HOUR, T + 8 * HOUR - 2 * MIN),
      want: { loginAt: null, firstSeenAt: T, fingerprint: fingerprint("rt2") },
    },
    {
      name: "new token written after the old access token expired: a rotation",
      prev: first,
      obs: seen("rt2", T + 30 * HOUR, T + 22 * HOUR),
      want: { loginAt: null, firstSeenAt: T },
    },
    {
      name: "new token while the old access token had 5 h left: a new login at the file's time",
      prev: first,
      obs: seen("rt2", T + 11 * HOUR, T + 3 * HOUR),
      want: { loginAt: T + 3 * HOUR, firstSeenAt: T + HOUR },
    },
    {
      name: "a token where there was none: a new login",
      prev: { ...first, fingerprint: null, expiresAt: null },
      obs: seen("rt9", T + 8 * HOUR, T + 30 * MIN),
      want: { loginAt: T + 30 * MIN },
    },
    {
      name: "credentials gone: no login",
      prev: first,
      obs: null,
      want: { fingerprint: null, loginAt: null, firstSeenAt: T + HOUR },
    },
    {
      name: "refresh token emptied (invalid_grant): no login",
      prev: first,
      obs: seen("", 0, T + HOUR),
      want: { fingerprint: null },
    },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = nextLoginRecord(r.prev, r.obs, T + HOUR);
      for (const [k, v] of Object.entries(r.want)) assert.deepEqual(got[k as keyof LoginRecord], v, k);
    });
  }
  it("returns the same object when nothing changed (no write)", () => {
    assert.equal(nextLoginRecord(first, seen("rt1", first.expiresAt, T), T + HOUR), first);
  });
});

describe("loginView", () => {
  const rec = (loginAt: number | null, firstSeenAt: number): LoginRecord => ({
    fingerprint: fingerprint("rt"),
    expiresAt: T,
    loginAt,
    firstSeenAt,
  });
  const creds = { expiresAt: T - HOUR, refreshToken: "rt" };
  it("an observed login 10 days old: age, likely end, no warning; access token expired but refreshable", () => {
    const v = loginView(rec(T - 10 * DAY, T - 10 * DAY), creds, T);
    assert.equal(v.loginKnown, "observed");
    assert.equal(v.loginAgeMs, 10 * DAY);
    assert.equal(v.loginEndsBy, T + 20 * DAY);
    assert.equal(v.warning, null);
    assert.equal(v.accessTokenExpired, true);
    assert.equal(v.hasRefreshToken, true);
  });
  it("warns from 5 days before the likely end, and after it", () => {
    assert.match(
      loginView(rec(T - 26 * DAY, T - 26 * DAY), creds, T).warning ?? "",
      /^login 26d old: .*about 30 days.*likely ends in about 4d/,
    );
    assert.match(loginView(rec(T - 31 * DAY, T - 31 * DAY), creds, T).warning ?? "", /may already have ended/);
    assert.equal(loginView(rec(T - 24 * DAY, T - 24 * DAY), creds, T).warning, null);
  });
  it("an unknown login time counts from the first sighting, saying 'at least'", () => {
    const v = loginView(rec(null, T - 27 * DAY), creds, T);
    assert.equal(v.loginKnown, "at_least");
    assert.equal(v.loginEndsBy, T - 27 * DAY + LOGIN_LIFETIME_MS);
    assert.match(v.warning ?? "", /^login at least 27d old/);
  });
  it("a token the ledger has not recorded yet, or no token at all", () => {
    assert.equal(loginView(rec(T - 29 * DAY, T - 29 * DAY), { expiresAt: T, refreshToken: "other" }, T).warning, null);
    assert.equal(loginView(undefined, { expiresAt: T, refreshToken: null }, T).loginKnown, "none");
  });
  it("accounts table cell", () => {
    assert.equal(
      loginCell(loginView(rec(T - 3 * DAY, T - 3 * DAY), creds, T) as unknown as Record<string, unknown>, T),
      "3d ago",
    );
    assert.equal(
      loginCell(loginView(rec(null, T - 27 * DAY), creds, T) as unknown as Record<string, unknown>, T),
      "≥27d ! ending",
    );
    assert.equal(loginCell(null, T), "-");
  });
});

describe("LoginLedger (files)", () => {
  let root: string;
  const home = () => join(root, "home");
  const write = (rt: string, expiresAt: number, mtime: number) => {
    const p = join(home(), ".claude", ".credentials.json");
    writeFileSync(
      p,
      JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-secret", refreshToken: rt, expiresAt } }),
      { mode: 0o600 },
    );
    utimesSync(p, mtime / 1000, mtime / 1000);
  };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "cf-logins-"));
    mkdirSync(join(home(), ".claude"), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("records a re-login at the file's time, keeps it across restarts, stores no token, mode 0600", () => {
    const path = stateLayout(join(root, "state")).loginLedger;
    write("sk-ant-ort01-first", T + 8 * HOUR, T);
    let l = new LoginLedger(path);
    assert.deepEqual(l.observe([{ name: "a", home: home() }], T), []);
    assert.equal(l.record("a")?.loginAt, null);
    write("sk-ant-ort01-second", T + 10 * HOUR, T + 2 * HOUR); // the old token had 6 h left: a login
    assert.deepEqual(l.observe([{ name: "a", home: home() }], T + 2 * HOUR + MIN), ["a"]);
    assert.equal(l.record("a")?.loginAt, T + 2 * HOUR);
    const text = readFileSync(path, "utf8");
    assert.ok(!text.includes("sk-ant"), "no token in the ledger");
    assert.equal(statSync(path).mode & 0o777, 0o600);
    l = new LoginLedger(path);
    assert.equal(l.record("a")?.loginAt, T + 2 * HOUR);
    write("sk-ant-ort01-third", T + 18 * HOUR, T + 10 * HOUR - MIN); // refreshed at expiry: same login
    l.observe([{ name: "a", home: home() }], T + 10 * HOUR);
    assert.equal(l.record("a")?.loginAt, T + 2 * HOUR);
    assert.equal(l.view("a", home(), T + 3 * DAY).loginKnown, "observed");
  });
});
