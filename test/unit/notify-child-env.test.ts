// The environment of command and desktop targets (notify/child-env.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { notifyChildEnv } from "../../src/notify/child-env.js";
import { SYSTEMD_NOTIFY_VARS } from "../../src/ops/sd-notify.js";
import { AUTH_OVERRIDES } from "../../src/sessions/launch.js";

describe("notifyChildEnv", () => {
  it("drops the daemon's scrub list and every variable the notify config referred to; keeps the rest", () => {
    const env = {
      PATH: "/usr/bin",
      HOME: "/h",
      ANTHROPIC_API_KEY: "k",
      ANTHROPIC_AUTH_TOKEN: "t",
      CLAUDE_CODE_OAUTH_TOKEN: "o",
      NOTIFY_SOCKET: "/run/n",
      WATCHDOG_USEC: "1",
      WATCHDOG_PID: "2",
      CLAUDE_FAILOVER_TOKEN: "bearer",
      SLACK_HOOK: "T/B/x",
    };
    const out = notifyChildEnv(env, { referenced_env: ["SLACK_HOOK"] }, [
      ...AUTH_OVERRIDES,
      ...SYSTEMD_NOTIFY_VARS,
      "CLAUDE_FAILOVER_TOKEN",
    ]);
    assert.deepEqual(out, { PATH: "/usr/bin", HOME: "/h" });
    assert.equal(env.SLACK_HOOK, "T/B/x", "the daemon's own environment is untouched");
    assert.deepEqual(notifyChildEnv({ A: "1" }, {}, []), { A: "1" });
  });
});
