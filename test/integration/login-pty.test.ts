// `claude-failover login` with a stand-in CLI (test/fixtures/fake-claude-login.mjs) that prints a
// prompt, reads a line and writes a credentials file, driven through the pseudo-terminal.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import * as pty from "node-pty";
import { stringify } from "yaml";
import { credentialsPath, readCredentials } from "../../src/accounts/credentials.js";
import { ExitError } from "../../src/ops/cli-config.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/types.js";
import { runLogin } from "../../src/ops/login.js";
import { fakeCredentials, makeHarness, REPO } from "../support/harness.js";
import { waitFor } from "../support/wait.js";

const FAKE = join(REPO, "test", "fixtures", "fake-claude-login.mjs");

describe("claude-failover login", { timeout: 120_000 }, () => {
  let root: string;
  let config: Config;
  let configPath: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-login-"));
    const doc = {
      state_dir: join(root, "state"),
      claude: { binary: FAKE },
      accounts: ["a", "b", "c", "d"].map((n) => ({ name: n, home: join(root, "homes", n), link_files: [] })),
    };
    configPath = join(root, "config.yaml");
    writeFileSync(configPath, stringify(doc));
    const r = parseConfig(stringify(doc), configPath, { env: {}, home: root });
    assert.ok(r.ok);
    config = r.config;
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** Runs login in-process with a fake terminal; types `line` once the prompt shows. */
  async function login(account: string, line: string, env: NodeJS.ProcessEnv = {}, exitGraceMs?: number) {
    const stdin = new PassThrough();
    let out = "";
    let err = "";
    let settled = false;
    const p = runLogin({
      config,
      account,
      stdin,
      io: { out: (s) => (out += s), err: (s) => (err += s), env: { ...process.env, HOME: root, ...env } },
      ...(exitGraceMs ? { exitGraceMs } : {}),
    }).finally(() => (settled = true));
    p.catch(() => {});
    await waitFor(() => out.includes("Paste code here if prompted >"), 20_000, "the CLI's prompt relayed");
    const settledAtPrompt = settled;
    stdin.write(`${line}\r`);
    const error = await p.then(
      () => null,
      (e: unknown) => e,
    );
    return { out, err, error, settledAtPrompt };
  }

  it("relays the CLI's prompt and the typed line through the pty, returns once new credentials appear", async () => {
    const r = await login("a", "alice@example.com");
    assert.equal(r.error, null, r.err);
    assert.match(
      r.out,
      new RegExp(`HOME=${join(root, "homes", "a")}, tty=true`),
      "the CLI ran in a terminal with the account's HOME",
    );
    assert.match(r.out, /Login successful for alice@example.com/);
    assert.match(r.out, /account a: logged in \(max\), access token valid until/);
    assert.ok(readCredentials(join(root, "homes", "a")).ok);
    assert.ok(existsSync(join(root, "homes", "a", ".claude", "projects")), "the home was prepared first");
  });

  it("waits for fresh credentials: an old file does not end the login", async () => {
    mkdirSync(join(root, "homes", "c", ".claude"), { recursive: true });
    writeFileSync(credentialsPath(join(root, "homes", "c")), fakeCredentials("sk-ant-oat01-old"), { mode: 0o600 });
    const before = readFileSync(credentialsPath(join(root, "homes", "c")), "utf8");
    const r = await login("c", "carol@example.com");
    assert.equal(r.settledAtPrompt, false);
    assert.equal(r.error, null, r.err);
    assert.notEqual(readFileSync(credentialsPath(join(root, "homes", "c")), "utf8"), before);
  });

  it("warns when another home holds the same login", async () => {
    const r = await login("b", "ALICE@example.com");
    assert.equal(r.error, null, r.err);
    assert.match(r.err, /warning: accounts a and b hold the same account .*log each other out/);
  });

  it("fails (exit 1) when the CLI ends without writing credentials", async () => {
    const r = await login("d", "x", { FAKE_LOGIN_MODE: "fail" });
    assert.ok(r.error instanceof ExitError);
    assert.equal(r.error.exitCode, 1);
    assert.match(r.error.message, /did not write new credentials \(the CLI exited with code 1\)/);
  });

  it("stops a CLI that lingers after writing the credentials", async () => {
    const r = await login("d", "dave@example.com", { FAKE_LOGIN_MODE: "stay" }, 300);
    assert.equal(r.error, null, r.err);
    assert.ok(readCredentials(join(root, "homes", "d")).ok);
  });

  it("unknown account: exit 2 naming the accounts", async () => {
    const e = await runLogin({
      config,
      account: "zz",
      stdin: new PassThrough(),
      io: { out: () => {}, err: () => {}, env: {} },
    }).catch((x: unknown) => x);
    assert.ok(e instanceof ExitError && e.exitCode === 2);
    assert.match(e.message, /no account named "zz" \(accounts: a, b, c, d\)/);
  });

  it("from a real terminal: `claude-failover login` puts it in raw mode and relays keystrokes", async () => {
    unlinkSync(credentialsPath(join(root, "homes", "a")));
    const term = pty.spawn(
      process.execPath,
      ["--import", import.meta.resolve("tsx"), join(REPO, "src/cli/bin.ts"), "--config", configPath, "login", "a"],
      {
        cols: 100,
        rows: 30,
        cwd: root,
        env: { ...process.env, HOME: root },
      },
    );
    let seen = "";
    let exit: number | null = null;
    term.onData((d) => (seen += d));
    term.onExit((e) => (exit = e.exitCode));
    await waitFor(() => seen.includes("Paste code here if prompted >"), 30_000, "prompt on the user's terminal");
    term.write("erin@example.com\r");
    await waitFor(() => exit !== null, 30_000, "login command exited");
    assert.equal(exit, 0, seen);
    assert.match(seen, /account a: logged in/);
    assert.ok(readCredentials(join(root, "homes", "a")).ok);
  });
});

describe("login and a running daemon", { timeout: 120_000 }, () => {
  it("a revoked account (no credentials) becomes active once login writes them", async () => {
    const h = await makeHarness({ accounts: 2, dedicated: [], binary: FAKE });
    try {
      unlinkSync(credentialsPath(join(h.root, "homes", "b")));
      const d = await h.start();
      assert.equal(d.accounts.row("b").state, "revoked");
      const stdin = new PassThrough();
      let out = "";
      const p = runLogin({
        config: h.loadConfig(),
        account: "b",
        stdin,
        io: { out: (s) => (out += s), err: () => {}, env: { ...process.env, HOME: h.root } },
      });
      await waitFor(() => out.includes("Paste code here"), 20_000, "prompt");
      stdin.write("bob@example.com\r");
      await p;
      assert.match(out, /running daemon sees the new login/);
      await waitFor(() => d.accounts.row("b").state === "active", 10_000, "b active again");
    } finally {
      await h.cleanup();
    }
  });
});
