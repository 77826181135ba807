// Which events notify and what they say (notify/catalog.ts), each target's wire shape (render.ts), redaction.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dedupKey, sampleNotification, toNotification } from "../../src/notify/catalog.js";
import { redactor, targetSecrets } from "../../src/notify/redact.js";
import { render, type ResolvedTarget } from "../../src/notify/render.js";
import { NOTIFY_EVENTS } from "../../src/config/notify-config.js";
import type { EventRow } from "../../src/store/types.js";

const T = Date.UTC(2026, 10, 30, 17, 0);
const ev = (
  kind: string,
  data: Record<string, unknown>,
  session: string | null = "dev",
  account: string | null = "b",
): EventRow => ({ id: 7, ts: T, kind, session, account, data });

describe("catalog", () => {
  const table: [EventRow, RegExp, RegExp][] = [
    [
      ev("swap.done", { id: 3, from: "a", to: "b", ms: 4200, resent: true }),
      /^dev moved from a to b$/,
      /Swap 3 done in 4\.2 s; the unanswered prompt was sent again/,
    ],
    [
      ev("swap.rolled_back", { id: 3, to: "b", reason: "confirm failed" }, "dev", "a"),
      /swap of dev to b rolled back/,
      /Back on a: confirm failed/,
    ],
    [ev("swap.parked", { id: 3, to: "b", reason: "boom" }), /swap of dev to b failed/, /parked: boom/],
    [
      ev("session.parked", { resumeAt: Date.UTC(2026, 10, 30, 19, 17), reason: "every account is spent" }),
      /dev parked/,
      /resumes at 2026-11-30 19:17 UTC/,
    ],
    [ev("session.parked", { resumeAt: null, reason: "x" }), /dev parked/, /resumes when an account is usable again/],
    [ev("session.resume", { from: "a", prompt: true }), /dev resumed on b/, /Parked on a .*sent again/],
    [
      ev("session.dialog_overdue", { dialog: "permission", since: T - 90_000, waitingMs: 90_000 }),
      /dev is waiting for you/,
      /permission dialog has been open for 2 min: answer it with claude-failover attach dev/,
    ],
    [ev("session.failed", { reason: "crash loop", restarts: 5 }), /dev failed/, /crash loop \(5 restarts\)/],
    [
      ev("task.done", { id: "t1", ms: 65_000, resultPath: "/o/t1.md" }, "auto-01"),
      /task t1 done/,
      /auto-01 in 1 min; result: \/o\/t1\.md/,
    ],
    [
      ev("task.failed", { id: "t1", attempts: 3, reason: "no Stop" }, null, null),
      /task t1 failed/,
      /no Stop after 3 attempts/,
    ],
    [
      ev("task.waiting", { id: "t1", question: "Bash command: touch /x — Do you want to proceed?" }, "auto-01"),
      /task t1 is waiting for you/,
      /auto-01 stopped at a permission dialog: Bash command: touch \/x — Do you want to proceed\?\. Answer with claude-failover task answer t1 yes\|no/,
    ],
    [
      ev(
        "schedule.refused",
        {
          name: "nightly",
          at: Date.UTC(2026, 10, 30, 3, 0),
          reason: "project: /p does not exist or is not a directory",
        },
        null,
        null,
      ),
      /schedule nightly did not run/,
      /run of 2026-11-30 03:00 UTC was not queued: project: \/p does not exist or is not a directory\. It runs again at its next time/,
    ],
    [
      ev("account.login_ending", { warning: "login is 29 days old" }, null, "a"),
      /account a: login ending/,
      /29 days old: log in again with claude-failover login a/,
    ],
    [
      ev(
        "account.forecast_short",
        { window: "five_hour", utilization: 0.8, exhaustAt: T + 3_600_000, resetsAt: T + 7_200_000 },
        null,
        "a",
      ),
      /account a will run out before its reset/,
      /five_hour window is at 80 % .* full at 2026-11-30 18:00 UTC, before it resets at 2026-11-30 19:00 UTC/,
    ],
    [
      ev("quota.usage_refused", { detail: "refuses this client" }, null, "a"),
      /usage endpoint refusing us \(account a\)/,
      /refuses this client/,
    ],
  ];
  for (const [e, title, text] of table) {
    it(`${e.kind} → a notification`, () => {
      const x = toNotification(e)!;
      assert.ok(x, e.kind);
      assert.match(x.title, title);
      assert.match(x.text, text);
      assert.equal(x.event, e.kind);
      assert.equal(x.eventId, 7);
    });
  }
  it("covers every NOTIFY_EVENTS kind and nothing else", () => {
    const kinds = new Set(table.map(([e]) => e.kind));
    assert.deepEqual([...kinds].sort(), [...NOTIFY_EVENTS].sort());
    for (const k of ["swap.started", "session.waiting", "notify.failed", "hook.Stop", "session.launch"])
      assert.equal(toNotification(ev(k, {})), null, k);
  });
  it("dedup keys: the same swap twice is one key, two swaps two", () => {
    const a = toNotification(ev("swap.done", { id: 1, from: "a", to: "b", ms: 1 }))!;
    const a2 = toNotification({ ...ev("swap.done", { id: 1, from: "a", to: "b", ms: 1 }), id: 8 })!;
    const b = toNotification(ev("swap.done", { id: 2, from: "a", to: "b", ms: 1 }))!;
    assert.equal(dedupKey(a), dedupKey(a2));
    assert.notEqual(dedupKey(a), dedupKey(b));
  });
  it("dedup keys: a task waiting is one per task, whatever the question or session", () => {
    const key = (e: EventRow) => dedupKey(toNotification(e)!);
    assert.equal(
      key(ev("task.waiting", { id: "t1", question: "q1" }, "auto-01")),
      key(ev("task.waiting", { id: "t1", question: "q2" }, "auto-02", "c")),
    );
    assert.notEqual(
      key(ev("task.waiting", { id: "t1", question: "q" })),
      key(ev("task.waiting", { id: "t2", question: "q" })),
    );
  });
  it("dedup keys: a park is one per session (whatever its resume time, whichever event tells it); a resume one per session", () => {
    const key = (e: EventRow) => dedupKey(toNotification(e)!);
    const park1 = key({ ...ev("session.parked", { resumeAt: T + 60_000, reason: "spent" }), ts: T });
    const park2 = key({
      ...ev("session.parked", { resumeAt: T + 120_000, reason: "spent" }, "dev", "a"),
      ts: T + 5_000,
    });
    const swapPark = key(ev("swap.parked", { id: 9, to: "c", reason: "boom" }, "dev", "a"));
    assert.equal(park1, park2);
    assert.equal(park1, swapPark);
    assert.notEqual(park1, key(ev("session.parked", { resumeAt: null, reason: "x" }, "other")));
    const resume = (ts: number) => key({ ...ev("session.resume", { from: "a" }), ts });
    assert.equal(resume(T), resume(T + 30_000));
    assert.notEqual(resume(T), key(ev("session.resume", { from: "a" }, "other")));
  });
});

describe("render", () => {
  const x = toNotification(ev("swap.done", { id: 3, from: "a", to: "b", ms: 4200 }, "<script>alert(1)</script>"))!;
  const t = (over: Partial<ResolvedTarget>): ResolvedTarget => ({
    name: "t",
    kind: "webhook",
    url: "http://127.0.0.1:1/h",
    format: "json",
    ...over,
  });
  it("json webhook: the event with stable fields", () => {
    const d = render(t({}), x);
    assert.equal(d.via, "http");
    if (d.via !== "http") return;
    const body = JSON.parse(d.body) as Record<string, unknown>;
    assert.equal(body.event, "swap.done");
    assert.equal(body.session, "<script>alert(1)</script>");
    assert.equal(body.time, new Date(T).toISOString());
    assert.deepEqual(body.data, { id: 3, from: "a", to: "b", ms: 4200 });
    assert.equal(d.headers["content-type"], "application/json");
  });
  it("slack: text with & < > escaped; discord: content, no mentions", () => {
    const s = render(t({ format: "slack" }), x);
    assert.ok(s.via === "http");
    if (s.via !== "http") return;
    const sb = JSON.parse(s.body) as { text: string };
    assert.match(sb.text, /^\*&lt;script&gt;alert\(1\)&lt;\/script&gt; moved from a to b\*\n/);
    const dc = render(t({ format: "discord" }), { ...x, title: "@everyone *bold*" });
    if (dc.via !== "http") return assert.fail();
    const db = JSON.parse(dc.body) as { content: string; allowed_mentions: unknown };
    assert.match(db.content, /^\*\*@everyone \\\*bold\\\*\*\*\n/);
    assert.deepEqual(db.allowed_mentions, { parse: [] });
  });
  it("ntfy: text body, Title and Tags headers in printable ASCII", () => {
    const d = render(t({ kind: "ntfy", url: "http://127.0.0.1:1/topic" }), { ...x, title: "dev → b\nX-Evil: 1" });
    if (d.via !== "http") return assert.fail();
    assert.equal(d.headers.title, "dev ? b?X-Evil: 1");
    assert.equal(d.headers.tags, "swap.done");
    assert.match(d.body, /^Swap 3 done in 4\.2 s\.\n\(2026-11-30 17:00 UTC\)$/);
  });
  it("command: argv as given, the event JSON on stdin; desktop: notify-send with -- before the text", () => {
    const c = render(t({ kind: "command", url: undefined, argv: ["/bin/prog", "--x"] }), x);
    if (c.via !== "exec") return assert.fail();
    assert.deepEqual(c.argv, ["/bin/prog", "--x"]);
    assert.equal((JSON.parse(c.stdin) as { event: string }).event, "swap.done");
    const n = render(t({ kind: "desktop", url: undefined }), { ...x, title: "-rf" });
    if (n.via !== "exec") return assert.fail();
    assert.deepEqual(n.argv, ["notify-send", "--app-name=claude-failover", "--", "-rf", x.text]);
  });
  it("the sample names its target", () => {
    assert.match(sampleNotification(T, "team").text, /Target team is reachable/);
  });
});

describe("redaction", () => {
  it("blanks a target's URL path, query and arguments in error text", () => {
    const secrets = targetSecrets({ url: "https://hooks.example.com/services/T0/B0/XYZSECRET?token=abcd1234" });
    const r = redactor(secrets);
    assert.equal(
      r("POST https://hooks.example.com/services/T0/B0/XYZSECRET?token=abcd1234 failed"),
      "POST https://hooks.example.com/[redacted] failed",
    );
    assert.equal(r("saw XYZSECRET and abcd1234"), "saw [redacted] and [redacted]");
    const c = redactor(targetSecrets({ argv: ["/bin/page", "--key", "s3cr3t-key"] }));
    assert.equal(c("page said: bad key s3cr3t-key"), "page said: bad key [redacted]");
  });
});
