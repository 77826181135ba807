import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyHookEvent, startTimeoutReason, strayStartupSessionStart } from "../../src/sessions/apply-event.js";
import { compareEvents, type HookEvent, parsePayload, parseSpoolName } from "../../src/sessions/hook-event.js";
import type { SessionRow, SessionState } from "../../src/store/types.js";

const T0 = Date.UTC(2025, 1, 3, 12, 0);

function row(over: Partial<SessionRow> = {}): SessionRow {
  return {
    name: "s1",
    kind: "dedicated",
    project: "/p",
    account: "acct-a",
    claudeSessionId: "old-id",
    transcriptPath: null,
    state: "idle",
    stateReason: null,
    lastPrompt: "previous prompt",
    lastPromptAt: T0 - 1000,
    lastPromptAnswered: true,
    failedPrompt: null,
    lastActivity: T0 - 1000,
    lastMoveAt: null,
    parkedUntil: null,
    restarts: 0,
    started: false,
    createdAt: T0 - 5000,
    updatedAt: T0 - 1000,
    launchId: null,
    launchedAt: null,
    ...over,
  };
}

function ev(event: string, payload: Record<string, unknown>, account = "acct-b", ts = T0): HookEvent {
  return {
    file: `${ts}000000.1.s1.${account}.${event}.json`,
    ts,
    order: [BigInt(ts) * 1_000_000n, 1],
    session: "s1",
    account,
    launch: null,
    event,
    payload,
  };
}

describe("applyHookEvent: SessionStart", () => {
  for (const source of ["startup", "resume", "clear"]) {
    it(`source ${source}: records the id, transcript, started, idle`, () => {
      const newId = source === "clear" ? "new-id-after-clear" : "old-id";
      const { patch, signals } = applyHookEvent(
        row({ state: "starting", started: false }),
        ev("SessionStart", { session_id: newId, source, transcript_path: `/t/${newId}.jsonl` }),
      );
      assert.equal(patch.claudeSessionId, newId);
      assert.equal(patch.transcriptPath, `/t/${newId}.jsonl`);
      assert.equal(patch.started, true);
      assert.equal(patch.state, "idle");
      assert.equal(patch.stateReason, null);
      assert.equal(patch.lastActivity, T0);
      assert.deepEqual(signals, [{ kind: "session_start", source, claudeSessionId: newId }]);
    });
  }

  it("clear drops a refused prompt of the old conversation (nothing is owed in the new one); resume keeps it", () => {
    const cleared = applyHookEvent(
      row({ failedPrompt: "p1" }),
      ev("SessionStart", { session_id: "B", source: "clear" }),
    );
    assert.equal(cleared.patch.failedPrompt, null);
    for (const source of ["resume", "startup", "compact"]) {
      const kept = applyHookEvent(row({ failedPrompt: "p1" }), ev("SessionStart", { session_id: "A", source }));
      assert.equal(kept.patch.failedPrompt, undefined, source);
    }
  });

  it("clear changes the claude session id away from the row's", () => {
    const { patch } = applyHookEvent(
      row({ claudeSessionId: "A" }),
      ev("SessionStart", { session_id: "B", source: "clear" }),
    );
    assert.equal(patch.claudeSessionId, "B");
  });

  it("missing source defaults to startup; missing id gives no id and no signal", () => {
    const a = applyHookEvent(row(), ev("SessionStart", { session_id: "X" }));
    assert.deepEqual(a.signals, [{ kind: "session_start", source: "startup", claudeSessionId: "X" }]);
    const b = applyHookEvent(row(), ev("SessionStart", { source: "resume", session_id: 42 }));
    assert.equal("claudeSessionId" in b.patch, false);
    assert.equal("transcriptPath" in b.patch, false);
    assert.deepEqual(b.signals, []);
    assert.equal(b.patch.started, true);
  });
});

describe("strayStartupSessionStart: one conversation id (issue 13 point 6)", () => {
  const launched = row({ claudeSessionId: "launched-id" });
  it("a startup SessionStart naming another id than the launched one is stray, with a reason naming both", () => {
    const why = strayStartupSessionStart(
      launched,
      ev("SessionStart", { session_id: "new-empty-id", source: "startup" }),
    );
    assert.match(why ?? "", /names session new-empty-id, but this CLI was launched with launched-id: ignored/);
    assert.ok(
      strayStartupSessionStart(launched, ev("SessionStart", { session_id: "new-empty-id" })),
      "a missing source counts as startup",
    );
  });
  it("the launched id itself, clear, compact and resume are not", () => {
    assert.equal(
      strayStartupSessionStart(launched, ev("SessionStart", { session_id: "launched-id", source: "startup" })),
      null,
    );
    for (const source of ["clear", "compact", "resume"]) {
      assert.equal(
        strayStartupSessionStart(launched, ev("SessionStart", { session_id: "other", source })),
        null,
        source,
      );
    }
    assert.equal(strayStartupSessionStart(launched, ev("Stop", { session_id: "other" })), null);
    assert.equal(
      strayStartupSessionStart(
        row({ claudeSessionId: null }),
        ev("SessionStart", { session_id: "x", source: "startup" }),
      ),
      null,
    );
  });
  it("the start timeout reason names the key, the time and the likely causes", () => {
    assert.match(
      startTimeoutReason(60_000),
      /no SessionStart within 60s .*sessions\.start_timeout.*disableAllHooks or allowManagedHooksOnly/,
    );
  });
});

describe("applyHookEvent: turns", () => {
  it("UserPromptSubmit: busy, lastPrompt, unanswered, failedPrompt cleared, signal with the event's account", () => {
    const { patch, signals } = applyHookEvent(
      row({ account: "acct-a", failedPrompt: "old failure" }),
      ev("UserPromptSubmit", { prompt: "fix the bug" }, "acct-b", T0 + 5),
    );
    assert.equal(patch.state, "busy");
    assert.equal(patch.lastPrompt, "fix the bug");
    assert.equal(patch.lastPromptAt, T0 + 5);
    assert.equal(patch.lastPromptAnswered, false);
    assert.equal(patch.failedPrompt, null);
    assert.deepEqual(signals, [{ kind: "prompt_submitted", prompt: "fix the bug", account: "acct-b" }]);
  });

  it("Stop: idle, answered, turn_done with the last message (null when absent)", () => {
    const a = applyHookEvent(
      row({ state: "busy", lastPromptAnswered: false }),
      ev("Stop", { last_assistant_message: "Done." }),
    );
    assert.equal(a.patch.state, "idle");
    assert.equal(a.patch.lastPromptAnswered, true);
    assert.deepEqual(a.signals, [{ kind: "turn_done", message: "Done." }]);
    const b = applyHookEvent(row({ state: "busy" }), ev("Stop", {}));
    assert.deepEqual(b.signals, [{ kind: "turn_done", message: null }]);
  });

  it("StopFailure rate_limit: limited, failedPrompt = lastPrompt, turn_failed", () => {
    const { patch, signals } = applyHookEvent(
      row({ state: "busy", lastPrompt: "write tests" }),
      ev("StopFailure", { error: "rate_limit", last_assistant_message: "limit reached · resets 3am" }),
    );
    assert.equal(patch.state, "limited");
    assert.equal(patch.stateReason, "rate_limit: limit reached · resets 3am");
    assert.equal(patch.failedPrompt, "write tests");
    assert.deepEqual(signals, [
      {
        kind: "turn_failed",
        error: "rate_limit",
        message: "limit reached · resets 3am",
        prompt: "write tests",
        account: "acct-b",
      },
    ]);
  });

  for (const error of ["server_error", "authentication_failed", undefined]) {
    it(`StopFailure ${error ?? "(no error field)"}: idle, not limited`, () => {
      const payload = error ? { error } : {};
      const { patch, signals } = applyHookEvent(row({ state: "busy", lastPrompt: "p" }), ev("StopFailure", payload));
      assert.equal(patch.state, "idle");
      assert.equal(patch.stateReason, error ?? "unknown");
      assert.equal(patch.failedPrompt, "p");
      assert.equal(signals[0]?.kind, "turn_failed");
    });
  }
});

describe("applyHookEvent: notifications and end", () => {
  const cases: { type: string; from: SessionState; want: SessionState | undefined }[] = [
    { type: "permission_prompt", from: "busy", want: "waiting" },
    { type: "elicitation_dialog", from: "idle", want: "waiting" },
    { type: "idle_prompt", from: "waiting", want: "idle" },
    { type: "idle_prompt", from: "busy", want: undefined },
    { type: "auth_success", from: "busy", want: undefined },
  ];
  for (const c of cases) {
    it(`Notification ${c.type} from ${c.from} → ${c.want ?? "unchanged"}`, () => {
      const { patch, signals } = applyHookEvent(
        row({ state: c.from }),
        ev("Notification", { notification_type: c.type }),
      );
      assert.equal(patch.state, c.want);
      if (c.want === "waiting") assert.equal(patch.stateReason, c.type);
      assert.deepEqual(signals, []);
      assert.equal(patch.lastActivity, T0);
    });
  }

  it("PermissionRequest → waiting (permission_prompt) at once, with the tool call as a signal", () => {
    const { patch, signals } = applyHookEvent(
      row({ state: "busy" }),
      ev("PermissionRequest", { tool_name: "Write", tool_input: { file_path: "/p/out.txt", content: "hi" } }),
    );
    assert.equal(patch.state, "waiting");
    assert.equal(patch.stateReason, "permission_prompt");
    assert.deepEqual(signals, [{ kind: "permission_request", tool: "Write", summary: "Write: /p/out.txt" }]);
  });

  it("SessionEnd → exited with the reason, session_end signal", () => {
    const { patch, signals } = applyHookEvent(
      row({ state: "idle" }),
      ev("SessionEnd", { reason: "prompt_input_exit" }),
    );
    assert.equal(patch.state, "exited");
    assert.equal(patch.stateReason, "prompt_input_exit");
    assert.deepEqual(signals, [{ kind: "session_end", reason: "prompt_input_exit" }]);
  });

  it("an unknown event only touches lastActivity", () => {
    const { patch, signals } = applyHookEvent(row(), ev("PreToolUse", { tool_name: "Bash" }));
    assert.deepEqual(patch, { lastActivity: T0 });
    assert.deepEqual(signals, []);
  });
});

describe("applyHookEvent: a prompt taken while parked", () => {
  it("ends the park: busy, no parked-until, so the resume does not send that prompt again (soak seed 804754)", () => {
    const s = row({ state: "parked", stateReason: "no usable account", parkedUntil: T0 + 60_000, failedPrompt: "p1" });
    const { patch, signals } = applyHookEvent(s, ev("UserPromptSubmit", { prompt: "p2" }));
    assert.deepEqual(
      [
        patch.state,
        patch.stateReason,
        patch.parkedUntil,
        patch.lastPrompt,
        patch.lastPromptAnswered,
        patch.failedPrompt,
      ],
      ["busy", null, null, "p2", false, null],
    );
    assert.equal(signals[0]?.kind, "prompt_submitted");
  });
});

describe("applyHookEvent: sticky daemon-owned states", () => {
  for (const sticky of ["swapping", "parked", "stopped"] as const) {
    it(`${sticky}: CLI events never set state, other fields still update`, () => {
      const s = row({ state: sticky, stateReason: "daemon reason", lastPrompt: "the prompt" });
      const start = applyHookEvent(
        s,
        ev("SessionStart", { session_id: "N", source: "resume", transcript_path: "/t/N.jsonl" }),
      );
      assert.equal("state" in start.patch, false);
      assert.equal("stateReason" in start.patch, false);
      assert.equal(start.patch.claudeSessionId, "N");
      assert.equal(start.patch.transcriptPath, "/t/N.jsonl");
      assert.equal(start.patch.started, true);
      assert.equal(start.signals.length, 1);

      const submit = applyHookEvent(s, ev("UserPromptSubmit", { prompt: "q" }));
      // A prompt the CLI took ends a park (see below); the other daemon-owned states hold.
      assert.equal("state" in submit.patch, sticky === "parked");
      assert.equal(submit.patch.lastPrompt, "q");
      assert.equal(submit.patch.lastPromptAnswered, false);

      const stop = applyHookEvent(s, ev("Stop", {}));
      assert.equal("state" in stop.patch, false);
      assert.equal(stop.patch.lastPromptAnswered, true);

      const fail = applyHookEvent(s, ev("StopFailure", { error: "rate_limit" }));
      assert.equal("state" in fail.patch, false);
      assert.equal(fail.patch.failedPrompt, "the prompt");
      assert.equal(fail.signals[0]?.kind, "turn_failed");

      for (const e of [
        ev("Notification", { notification_type: "permission_prompt" }),
        ev("SessionEnd", { reason: "x" }),
      ]) {
        const r = applyHookEvent(s, e);
        assert.equal("state" in r.patch, false, e.event);
        assert.equal("stateReason" in r.patch, false, e.event);
      }
    });
  }

  for (const notSticky of ["failed", "limited", "exited", "waiting"] as const) {
    it(`${notSticky} is not sticky: SessionStart makes it idle`, () => {
      const { patch } = applyHookEvent(row({ state: notSticky }), ev("SessionStart", { session_id: "x" }));
      assert.equal(patch.state, "idle");
    });
  }
});

describe("hook-event: parseSpoolName", () => {
  it("parses a well-formed name", () => {
    const m = parseSpoolName("1738584000123456789.4242.my-sess_1.acct-A_2.UserPromptSubmit.json");
    assert.deepEqual(m, {
      ts: 1738584000123,
      order: [1738584000123456789n, 4242],
      session: "my-sess_1",
      account: "acct-A_2",
      launch: null,
      event: "UserPromptSubmit",
    });
  });

  it("reads the launch id when the name carries one", () => {
    const m = parseSpoolName("1738584000123456789.4242.my-sess_1.acct-A_2.0123456789ab.Stop.json");
    assert.deepEqual([m?.session, m?.account, m?.launch, m?.event], ["my-sess_1", "acct-A_2", "0123456789ab", "Stop"]);
    // not 12 hex digits: not a launch id, and the name does not parse
    assert.equal(parseSpoolName("1738584000123456789.4242.s.a.0123456789AB.Stop.json"), null);
  });

  it("accepts second-resolution fallbacks (ns = s + 000000000)", () => {
    assert.equal(parseSpoolName("1738584000000000000.1.s.a.Stop.json")?.ts, 1738584000000);
  });

  const bad = [
    "",
    "garbage",
    "hello.json",
    "1738584000123456789.4242.s.a.Stop", // no .json
    "1738584000123456789.4242.s.a.Stop.json.tmp",
    ".1738584000123456789.4242.s.a.Stop.json.tmp", // the hook's temp name
    "1738584000123456789.4242.my.sess.a.Stop.json", // a dot inside the session name
    "1738584000123456789.4242.s.acct.x.Stop.json", // a dot inside the account name
    "1738584000123456789.pid.s.a.Stop.json",
    "123.1.s.a.Stop.json", // too few digits for a ns timestamp
    "1738584000123456789.1.s.a.Stop2.json", // event names are letters
    "1738584000123456789.1.s p.a.Stop.json",
    "1738584000123456789.1..a.Stop.json",
  ];
  for (const name of bad) {
    it(`rejects ${JSON.stringify(name)}`, () => assert.equal(parseSpoolName(name), null));
  }
});

describe("hook-event: compareEvents", () => {
  it("orders by ns first, then pid for the same ns", () => {
    const names = [
      "1738584000000000002.5.s.a.Stop.json",
      "1738584000000000001.900.s.a.Stop.json",
      "1738584000000000001.30.s.a.UserPromptSubmit.json",
      "999999999999999999.99999.s.a.SessionStart.json", // fewer digits, but earlier
    ];
    const parsed = names.map((n) => ({ n, ...parseSpoolName(n)! }));
    parsed.sort(compareEvents);
    assert.deepEqual(
      parsed.map((p) => p.n),
      [names[3], names[2], names[1], names[0]],
    );
  });

  it("ns beyond 2^53 still compare exactly (bigint, not number)", () => {
    const a = { order: [9007199254740993n, 1] as [bigint, number] };
    const b = { order: [9007199254740992n, 2] as [bigint, number] };
    assert.equal(compareEvents(a, b), 1);
    assert.equal(compareEvents(b, a), -1);
    assert.equal(compareEvents(a, { order: [9007199254740993n, 1] }), 0);
  });
});

describe("hook-event: parsePayload", () => {
  it("returns the object for a JSON object", () => {
    assert.deepEqual(parsePayload('{"a":1,"b":{"c":"d"}}'), { a: 1, b: { c: "d" } });
  });
  for (const text of ["[]", "[1,2]", "null", "42", '"str"', "true", "", "{", "not json"]) {
    it(`returns null for ${JSON.stringify(text)}`, () => assert.equal(parsePayload(text), null));
  }
});
