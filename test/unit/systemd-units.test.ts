// The checked-in unit files carry the keys the daemon's survival depends on, and init's rendering
// keeps them while filling in User=, ExecStart=, PATH and the token file. Runs with or without systemd.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  parseUnit,
  quoteWord,
  readTemplate,
  renderUnit,
  secretsTemplateFile,
  splitExecStart,
  systemdDir,
  unitValues,
  type UnitEntry,
} from "../../src/ops/unit-file.js";

const system = parseUnit(readTemplate("system"));
const user = parseUnit(readTemplate("user"));
const one = (u: UnitEntry[], section: string, key: string) => {
  const v = unitValues(u, section, key);
  assert.equal(v.length, 1, `${section}.${key} appears once (got ${JSON.stringify(v)})`);
  return v[0]!;
};

describe("systemd unit files (structure)", () => {
  for (const [label, u] of [
    ["system", system],
    ["user", user],
  ] as const) {
    it(`${label} unit: notify readiness, SIGHUP reload, sessions survive stop, restart on failure`, () => {
      assert.equal(one(u, "Service", "Type"), "notify");
      assert.equal(one(u, "Service", "NotifyAccess"), "all", "systemd-notify is a child process");
      assert.equal(one(u, "Service", "KillMode"), "process", "tmux sessions must outlive the daemon");
      assert.equal(one(u, "Service", "Restart"), "on-failure");
      assert.equal(
        one(u, "Service", "RestartPreventExitStatus"),
        "2",
        "a second daemon (exit 2) is not restarted in a loop",
      );
      assert.equal(one(u, "Service", "ExecReload"), "/bin/kill -HUP $MAINPID");
      assert.deepEqual(splitExecStart(one(u, "Service", "ExecStart")), ["/usr/bin/env", "claude-failover", "daemon"]);
      assert.equal(one(u, "Service", "NoNewPrivileges"), "yes");
      assert.equal(one(u, "Service", "PrivateTmp"), "no", "tmux sockets live in /tmp");
      assert.ok(one(u, "Unit", "Description").length > 10);
      const sections = new Set(u.map((e) => e.section));
      assert.deepEqual([...sections].sort(), ["Install", "Service", "Unit"]);
    });
  }

  it("system unit: runs as a user, boots with multi-user, protects the system but not the homes", () => {
    assert.ok(one(system, "Service", "User"));
    assert.equal(one(system, "Install", "WantedBy"), "multi-user.target");
    assert.ok(["full", "strict"].includes(one(system, "Service", "ProtectSystem")));
    assert.deepEqual(unitValues(system, "Service", "ProtectHome"), [], "homes are where the sessions work");
    assert.deepEqual(unitValues(system, "Service", "MemoryDenyWriteExecute"), [], "node's JIT needs W^X off");
  });

  it("user unit: no User=, default.target, loads the token file beside the config", () => {
    assert.deepEqual(unitValues(user, "Service", "User"), []);
    assert.equal(one(user, "Install", "WantedBy"), "default.target");
    assert.equal(one(user, "Service", "EnvironmentFile"), "-%E/claude-failover/token.env");
  });

  it("the secrets drop-in loads /run/secrets/claude-failover.env into the service", () => {
    const d = parseUnit(readFileSync(secretsTemplateFile(), "utf8"));
    assert.deepEqual(
      d.map((e) => `${e.section}.${e.key}=${e.value}`),
      ["Service.EnvironmentFile=/run/secrets/claude-failover.env"],
    );
    assert.equal(secretsTemplateFile(), join(systemdDir(), "claude-failover.service.d", "secrets.conf"));
  });
});

describe("unit rendering", () => {
  it("fills in User=, an absolute ExecStart with PATH after it, and the token file", () => {
    const text = renderUnit(readTemplate("system"), {
      execStart: [
        "/opt/node/bin/node",
        "/opt/cf/dist/src/cli/bin.js",
        "--config",
        "/home/u/.config/claude-failover/config.yaml",
        "daemon",
      ],
      user: "dev",
      path: "/opt/node/bin:/usr/bin",
      envFile: "/home/u/.config/claude-failover/token.env",
    });
    const u = parseUnit(text);
    assert.equal(one(u, "Service", "User"), "dev");
    assert.equal(
      one(u, "Service", "ExecStart"),
      "/opt/node/bin/node /opt/cf/dist/src/cli/bin.js --config /home/u/.config/claude-failover/config.yaml daemon",
    );
    assert.equal(one(u, "Service", "Environment"), "PATH=/opt/node/bin:/usr/bin");
    assert.equal(one(u, "Service", "EnvironmentFile"), "-/home/u/.config/claude-failover/token.env");
    assert.equal(one(u, "Service", "KillMode"), "process");
    // Comments survive: the installed unit still explains itself.
    assert.match(text, /# A tmux server the daemon starts/);
  });

  it("replaces the user unit's EnvironmentFile= instead of adding a second one", () => {
    const u = parseUnit(
      renderUnit(readTemplate("user"), { execStart: ["/n", "daemon"], envFile: "/h/100%/token.env" }),
    );
    assert.deepEqual(unitValues(u, "Service", "EnvironmentFile"), ["-/h/100%%/token.env"]);
  });

  it("quotes words with spaces and escapes % and $ so systemd passes them through literally", () => {
    assert.equal(quoteWord("/usr/bin/node"), "/usr/bin/node");
    assert.equal(quoteWord("/home/a b/x"), '"/home/a b/x"');
    assert.equal(quoteWord("/p/50%"), "/p/50%%");
    assert.equal(quoteWord("/p/$HOME"), '"/p/$$HOME"');
    assert.equal(quoteWord('/p/"q"'), '"/p/\\"q\\""');
    assert.deepEqual(splitExecStart('/a "/b c" d'), ["/a", "/b c", "d"]);
  });

  it("parses continuation lines and rejects a line that is not key=value", () => {
    assert.deepEqual(
      parseUnit("[S]\nA=1\\\n  2\n# c\n; c\n").map((e) => [e.key, e.value]),
      [["A", "1 2"]],
    );
    assert.throws(() => parseUnit("[S]\nnonsense\n"), /line 2/);
  });
});
