// Dialog waits past dialog_after and forecasts that run out before the reset (notify/watchers.ts), and the
// notify config's schema (config/schema.ts notify:).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig, formatIssue } from "../../src/config/load.js";
import { DialogWatch, ForecastWatch, outlookWindows } from "../../src/notify/watchers.js";

const waiting = (name: string, reason: string | null) => ({ name, account: "a", stateReason: reason });
const W = "waiting: permission dialog (answer it: claude-failover attach dev)";

describe("DialogWatch", () => {
  it("reports a wait once, after dialog_after counted from the session.waiting event", () => {
    const w = new DialogWatch();
    w.note({ kind: "session.waiting", session: "dev", ts: 1_000, data: { dialog: "permission" } });
    assert.deepEqual(w.check([waiting("dev", W)], 60_999, 60_000), []);
    assert.deepEqual(w.check([waiting("dev", W)], 61_000, 60_000), [
      { session: "dev", account: "a", dialog: "permission", since: 1_000, waitingMs: 60_000 },
    ]);
    assert.deepEqual(w.check([waiting("dev", W)], 200_000, 60_000), [], "once per wait");
  });
  it("a wait that ended and began again is reported again; a wait seen only in the row counts from then", () => {
    const w = new DialogWatch();
    w.note({ kind: "session.input_refused", session: "dev", ts: 0, data: { dialog: "trust" } });
    assert.equal(w.check([waiting("dev", W)], 10, 5).length, 1);
    assert.deepEqual(w.check([waiting("dev", null)], 20, 5), []);
    assert.deepEqual(w.check([waiting("dev", W)], 30, 5), [], "the new wait starts at 30");
    assert.deepEqual(w.check([waiting("dev", W)], 35, 5), [
      { session: "dev", account: "a", dialog: "permission", since: 30, waitingMs: 5 },
    ]);
  });
  it("a session in state waiting (the CLI's Notification hook) counts too", () => {
    const w = new DialogWatch();
    const row = { name: "auto-01", account: null, state: "waiting", stateReason: "permission_prompt" };
    assert.deepEqual(w.check([row], 0, 1000), []);
    assert.deepEqual(w.check([row], 1000, 1000), [
      { session: "auto-01", account: null, dialog: "permission", since: 0, waitingMs: 1000 },
    ]);
    assert.deepEqual(w.check([{ ...row, state: "busy", stateReason: null }], 2000, 1000), []);
  });
  it("ignores other events and sessions that are not waiting", () => {
    const w = new DialogWatch();
    w.note({ kind: "session.launch", session: "dev", ts: 0, data: {} });
    assert.deepEqual(w.check([waiting("dev", "swap to b: manual"), waiting("x", null)], 100_000, 1), []);
  });
});

describe("ForecastWatch", () => {
  const H = 3_600_000;
  const win = (exhaustAt: number | null, resetsAt: number | null) => ({
    window: "five_hour",
    utilization: 0.7,
    burnPerHour: 0.2,
    exhaustAt,
    resetsAt,
  });
  it("reports a window full before its reset, once per period", () => {
    const f = new ForecastWatch();
    const acc = (w: ReturnType<typeof win>) => [{ account: "a", windows: [w] }];
    assert.deepEqual(f.check(acc(win(null, 5 * H)), 0), [], "no exhaustion forecast");
    assert.deepEqual(f.check(acc(win(6 * H, 5 * H)), 0), [], "resets first");
    assert.deepEqual(f.check(acc(win(2 * H, null)), 0), [], "reset unknown");
    assert.equal(f.check(acc(win(2 * H, 5 * H)), 0).length, 1);
    assert.equal(f.check(acc(win(2 * H, 5 * H + 60_000)), 60_000).length, 0, "same period (reset jitter)");
    assert.equal(f.check(acc(win(7 * H, 10 * H)), 5 * H + 1).length, 1, "next period");
  });
  it("outlookWindows names windows as the event log does", () => {
    const v = { utilization: 0.5, burnPerHour: null, exhaustAt: null, resetsAt: null };
    assert.deepEqual(
      outlookWindows({ fiveHour: v, sevenDay: null, perModelWeekly: { opus: v } }).map((w) => w.window),
      ["five_hour", "seven_day_opus"],
    );
    assert.deepEqual(outlookWindows(null), []);
  });
});

describe("notify config", () => {
  const base = "accounts:\n  - name: a\n    home: /h/a\n";
  const parse = (text: string, env: NodeJS.ProcessEnv = {}) =>
    parseConfig(base + text, "config.yaml", { env, home: "/h" });
  it("defaults: dialog_after 60s, no targets", () => {
    const r = parse("");
    assert.ok(r.ok);
    if (r.ok)
      assert.deepEqual(r.config.notify, {
        dialog_after: 60_000,
        dedup_window: 600_000,
        rate_per_minute: 20,
        targets: [],
      });
  });
  it("fills names and formats, and ${VAR} from the environment", () => {
    const r = parse(
      [
        "notify:",
        "  dialog_after: 2s",
        "  targets:",
        "    - kind: webhook",
        "      url: https://hooks.slack.com/services/${SLACK_HOOK}",
        "      format: slack",
        "      events: [swap.done, session.parked]",
        "    - { kind: ntfy, url: 'https://ntfy.sh/${TOPIC}', name: phone }",
        "    - { kind: command, argv: [/usr/bin/logger, -t, cf] }",
        "    - { kind: desktop }",
      ].join("\n"),
      { SLACK_HOOK: "T0/B0/xyz", TOPIC: "cf-alerts" },
    );
    assert.ok(r.ok, r.ok ? "" : r.issues.map(formatIssue).join("\n"));
    if (!r.ok) return;
    assert.equal(r.config.notify.dialog_after, 2000);
    assert.deepEqual(
      r.config.notify.targets.map((t) => [t.name, t.kind, t.format]),
      [
        ["webhook-1", "webhook", "slack"],
        ["phone", "ntfy", "json"],
        ["command-3", "command", "json"],
        ["desktop-4", "desktop", "json"],
      ],
    );
    assert.equal(r.config.notify.targets[0]!.url, "https://hooks.slack.com/services/T0/B0/xyz");
    assert.deepEqual(r.config.notify.targets[0]!.events, ["swap.done", "session.parked"]);
  });
  it("says what is wrong, where, without echoing a URL's path", () => {
    const r = parse(
      [
        "notify:",
        "  targets:",
        "    - { kind: webhook }", // line 6
        "    - { kind: ntfy, url: 'ftp://x/secret-topic' }", // 7
        "    - { kind: command, url: 'http://x/' }", // 8
        "    - { kind: webhook, url: 'http://x/', events: [swap.nope] }", // 9
        "    - { kind: desktop, name: d }",
        "    - { kind: desktop, name: d }", // 10, 11
        "    - { kind: pager }", // 12
      ].join("\n"),
    );
    assert.equal(r.ok, false);
    const all = r.ok ? [] : r.issues.map(formatIssue);
    const has = (re: RegExp) =>
      assert.ok(
        all.some((m) => re.test(m)),
        `${re} in\n${all.join("\n")}`,
      );
    has(/^config\.yaml:6: notify\.targets\[0\]\.url: is required for kind webhook/);
    has(/^config\.yaml:7: notify\.targets\[1\]\.url: must be an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x\/…"/);
    has(/notify\.targets\[2\]\.argv: is required for kind command/);
    has(/notify\.targets\[2\]\.url: does not apply to kind command/);
    has(/notify\.targets\[3\]\.events\[0\]/);
    has(/notify\.targets\[6\]\.kind/);
    assert.ok(!all.join("\n").includes("secret-topic"));
  });
  it("two targets of one name", () => {
    const r = parse("notify:\n  targets:\n    - { kind: desktop, name: d }\n    - { kind: desktop, name: d }\n");
    assert.equal(r.ok, false);
    if (!r.ok)
      assert.deepEqual(r.issues.map(formatIssue), [
        "config.yaml:7: notify.targets[1].name: d is used by another target",
      ]);
  });
  it("records every ${VAR} the notify config refers to (not those elsewhere in the file)", () => {
    const r = parseConfig(
      "accounts:\n  - name: a\n    home: ${A_HOME:-/h/a}\nnotify:\n  targets:\n" +
        "    - { kind: webhook, url: 'https://h.example/${HOOK_PATH}?k=${HOOK_KEY:-x}' }\n    - { kind: ntfy, url: 'https://ntfy.sh/$${LITERAL}' }\n",
      "config.yaml",
      { env: { HOOK_PATH: "p", A_HOME: "/h/a" }, home: "/h" },
    );
    assert.ok(r.ok, r.ok ? "" : r.issues.map(formatIssue).join("\n"));
    if (r.ok) assert.deepEqual(r.config.notify.referenced_env, ["HOOK_PATH", "HOOK_KEY"]);
    const plain = parse("notify:\n  targets:\n    - { kind: desktop }\n");
    assert.ok(plain.ok && plain.config.notify.referenced_env === undefined);
  });
  it("refuses ${VAR} in a command's argv, saying where and why", () => {
    const r = parse(
      "notify:\n  targets:\n    - kind: command\n      argv: [/usr/local/bin/page, --token, '${PAGER_TOKEN}']\n",
      { PAGER_TOKEN: "s3cret-value" },
    );
    assert.equal(r.ok, false);
    const all = r.ok ? "" : r.issues.map(formatIssue).join("\n");
    assert.match(
      all,
      /^config\.yaml:7: notify\.targets\[0\]\.argv\[2\]: must not hold \$\{PAGER_TOKEN\}: a program's arguments are readable by every local user/,
    );
    assert.ok(!all.includes("s3cret-value"));
  });
  it("an unset ${VAR} is an error naming it", () => {
    const r = parse("notify:\n  targets:\n    - { kind: ntfy, url: 'https://ntfy.sh/${NTFY_TOPIC}' }\n");
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.issues.map(formatIssue).join("\n"), /NTFY_TOPIC is not set/);
  });
});
