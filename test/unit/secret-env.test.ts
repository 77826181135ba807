// The daemon's secrets never reach a child process: the list of variables kept from children
// (ops/secret-env.ts), and what login's CLI, notify commands and git get (each built from a real config).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatIssue, parseConfig, type Config } from "../../src/config/load.js";
import { gitEnv } from "../../src/inbox/worktree.js";
import { notifyChildEnv } from "../../src/notify/child-env.js";
import { loginEnv } from "../../src/ops/login.js";
import { secretEnvNames } from "../../src/ops/secret-env.js";

function config(...extra: string[]): Config {
  const text = ["accounts:", "  - name: a", "    home: /home/u/a", ...extra].join("\n") + "\n";
  const r = parseConfig(text, "config.yaml", { env: {}, home: "/home/u", hostname: "h" });
  if (!r.ok) assert.fail(r.issues.map(formatIssue).join("\n"));
  return r.config;
}

const PG = "postgresql://cf:s3cret@db/cf";
const DAEMON_ENV = {
  PATH: "/usr/bin",
  HOME: "/home/u",
  LANG: "C.UTF-8",
  CF_PG: PG,
  CLAUDE_FAILOVER_TOKEN: "bearer",
  ANTHROPIC_API_KEY: "k",
  NOTIFY_SOCKET: "/run/n",
};

describe("secretEnvNames", () => {
  it("names the PostgreSQL URL's variable (store.postgres_url_env) with the bearer token's, the auth overrides and systemd's", () => {
    const names = secretEnvNames(config("store:", "  backend: postgres", "  postgres_url_env: CF_PG"));
    for (const n of ["CF_PG", "CLAUDE_FAILOVER_TOKEN", "ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "NOTIFY_SOCKET"])
      assert.ok(names.includes(n), n);
    assert.equal(new Set(names).size, names.length, "no repeats");
    assert.ok(!secretEnvNames(config()).includes("CF_PG"), "sqlite: no URL variable");
  });

  it("login's CLI and notify commands get neither the URL nor the bearer token", () => {
    const c = config("store:", "  backend: postgres", "  postgres_url_env: CF_PG");
    const login = loginEnv(c, "/home/u/a", DAEMON_ENV);
    assert.equal(login.CF_PG, undefined);
    assert.equal(login.CLAUDE_FAILOVER_TOKEN, undefined);
    assert.equal(login.PATH, "/usr/bin");
    const notify = notifyChildEnv(DAEMON_ENV, c.notify, secretEnvNames(c));
    assert.deepEqual(notify, { PATH: "/usr/bin", HOME: "/home/u", LANG: "C.UTF-8" });
  });
});

describe("gitEnv", () => {
  it("passes PATH, HOME and the locale, never the daemon's other variables (the project's git hooks run with it)", () => {
    const env = gitEnv(DAEMON_ENV);
    assert.equal(env.PATH, "/usr/bin");
    assert.equal(env.HOME, "/home/u");
    assert.equal(env.GIT_TERMINAL_PROMPT, "0");
    for (const k of ["CF_PG", "CLAUDE_FAILOVER_TOKEN", "ANTHROPIC_API_KEY", "NOTIFY_SOCKET"])
      assert.equal(env[k], undefined, k);
    assert.ok(!Object.values(env).includes(PG));
  });
});
