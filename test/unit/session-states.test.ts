// The session state table (src/sessions/session-states.ts), every state × operation against a grid written
// out here on its own, and a source check that session-service.ts and apply-event.ts write a state only
// through the table (issue 15 point 2).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { SESSION_STATES, STATE_OPS, TRANSITIONS, transition, type StateOp } from "../../src/sessions/session-states.js";
import type { SessionState } from "../../src/store/types.js";

// Columns: the states in SESSION_STATES order. A cell: the state the op produces (two letters), `=` the state
// is kept (state and reason not written), `!` not expected (recorded; the op's own state is still written).
const CODES: Record<string, SessionState> = {
  St: "starting",
  Id: "idle",
  Bu: "busy",
  Wa: "waiting",
  Li: "limited",
  Ex: "exited",
  Fa: "failed",
  Pa: "parked",
  Sw: "swapping",
  So: "stopped",
};
const GRID = `
                    St Id Bu Wa Li Ex Fa Pa Sw So
launch              St St St St St St St St St St
adopt               Id =  =  =  =  Id !  !  Id Id
conflict            Fa Fa Fa Fa Fa Fa Fa Fa Fa Fa
cli_missing         Fa Fa Fa Fa Fa Fa Fa Fa Fa Fa
start_timeout       Fa !  !  !  !  !  !  !  !  !
exit_seen           Ex Ex Ex Ex Ex Ex !  !  Ex !
crash_loop          Fa Fa Fa Fa Fa Fa !  !  Fa !
park                Pa Pa Pa Pa Pa Pa Pa Pa Pa Pa
remove              So So So So So So So So So So
pool_reuse          St St St St St St St St St St
interrupted         !  !  Id Id !  !  !  !  !  !
dialog_allowed      !  !  !  Bu !  !  !  !  !  !
dialog_denied       !  Id Id Id !  !  !  !  !  !
swap_begin          Sw Sw Sw Sw Sw Sw Sw Sw Sw !
swap_launch         Sw !  !  !  !  !  !  !  Sw !
swap_finished       Id !  !  !  !  !  !  !  Id !
swap_finished_busy  Bu !  !  !  !  !  !  !  Bu !
swap_rolled_back    Id !  !  !  !  !  !  !  Id !
swap_recover        !  !  !  !  !  !  !  !  St !
limit_seen          !  !  Li !  !  !  !  !  !  !
limit_replay        Li Li Li Li Li Li !  Li !  !
resume_in_place     !  !  !  !  !  !  !  Id !  !
resume_relaunch     !  !  !  !  !  !  !  St !  !
hook_start          Id Id Id Id Id Id Id =  =  =
hook_prompt         Bu Bu Bu Bu Bu Bu Bu Bu =  =
hook_stop           Id Id Id Id Id Id Id =  =  =
hook_limit          Li Li Li Li Li Li Li =  =  =
hook_refused        Id Id Id Id Id Id Id =  =  =
hook_dialog         Wa Wa Wa Wa Wa Wa Wa =  =  =
hook_idle_prompt    Id Id =  Id Id Id Id =  =  =
hook_end            Ex Ex Ex Ex Ex Ex Ex =  =  =
`;

function parseGrid(text: string): { head: SessionState[]; rows: Map<string, string[]> } {
  const [header, ...lines] = text.trim().split("\n");
  const head = header!
    .trim()
    .split(/\s+/)
    .map((c) => CODES[c]!);
  const rows = new Map<string, string[]>();
  for (const line of lines) {
    const [op, ...cells] = line.trim().split(/\s+/);
    rows.set(op!, cells);
  }
  return { head, rows };
}

describe("session state table", () => {
  const { head, rows } = parseGrid(GRID);

  it("the grid's columns are every state, its rows every operation", () => {
    assert.deepEqual(head, [...SESSION_STATES]);
    assert.deepEqual([...rows.keys()].sort(), [...STATE_OPS].sort());
  });

  for (const [op, cells] of rows) {
    it(`${op}: from every state`, () => {
      assert.equal(cells.length, SESSION_STATES.length, `${op}: one cell per state`);
      SESSION_STATES.forEach((from, i) => {
        const cell = cells[i]!;
        const got = transition(from, op as StateOp);
        if (cell === "=") assert.deepEqual(got, { ok: true, to: from, changes: false }, `${op} from ${from}`);
        else if (cell === "!") {
          assert.equal(got.ok, false, `${op} from ${from}: not expected`);
          assert.equal(got.to, TRANSITIONS[op as StateOp].to, `${op} from ${from}: names its own state`);
          assert.match(!got.ok ? got.reason : "", new RegExp(`^${op} is not expected from ${from}`));
        } else assert.deepEqual(got, { ok: true, to: CODES[cell], changes: true }, `${op} from ${from}`);
      });
    });
  }

  it("the CLI's hook events are expected in every state, and keep the states the daemon owns", () => {
    for (const op of STATE_OPS.filter((o) => o.startsWith("hook_"))) {
      for (const from of SESSION_STATES) assert.equal(transition(from, op).ok, true, `${op} from ${from}`);
      for (const from of ["swapping", "stopped"] as const)
        assert.deepEqual(transition(from, op), { ok: true, to: from, changes: false }, `${op} keeps ${from}`);
    }
  });

  it("no rule lists a state both as a from-state and as kept", () => {
    for (const op of STATE_OPS) {
      const r: { from: readonly string[]; keep?: readonly string[] } = TRANSITIONS[op];
      assert.deepEqual(
        r.from.filter((s) => r.keep?.includes(s)),
        [],
        op,
      );
    }
  });
});

// The source checks. Everywhere under src/: no `updateRow(...)` call passes a `state` (setState moves it).
// In session-service.ts a `state:` key is only the table's answer (`state: t.to`) or the
// first state of a new row (`state: INITIAL_STATE`); in apply-event.ts only `patch.state = t.to` sets one.
const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const ALLOWED_KEY = /\bstate\s*:\s*(?:t\.to|INITIAL_STATE)\b/;
const ALLOWED_SET = /\.state\s*=\s*t\.to\b/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** `file:line` of each `updateRow(` call whose arguments (to the matching parenthesis) hold a `state:` key. */
function stateViaUpdateRow(path: string, text: string): string[] {
  const out: string[] = [];
  for (let at = text.indexOf("updateRow("); at >= 0; at = text.indexOf("updateRow(", at + 1)) {
    let depth = 0;
    let end = at + "updateRow".length;
    for (; end < text.length; end++) {
      if (text[end] === "(") depth++;
      else if (text[end] === ")" && --depth === 0) break;
    }
    if (/\bstate\s*:/.test(text.slice(at, end))) out.push(`${path}:${text.slice(0, at).split("\n").length}`);
  }
  return out;
}

/** `file:line` of each state write in `text` that does not come from the table. */
function strayStateWrites(path: string, text: string): string[] {
  const out: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\/\/.*$/, "").trim();
    if (line.startsWith("*") || line.startsWith("/*")) return;
    const key = /\bstate\s*:/.test(line) && !ALLOWED_KEY.test(line);
    const set = /\.state\s*=[^=]/.test(line) && !ALLOWED_SET.test(line);
    if (key || set) out.push(`${path}:${i + 1}: ${line}`);
  });
  return out;
}

describe("states are written through the table", () => {
  it("session-service.ts and apply-event.ts write no state of their own", () => {
    for (const f of ["sessions/session-service.ts", "sessions/apply-event.ts"]) {
      const text = readFileSync(SRC + f, "utf8");
      assert.deepEqual(strayStateWrites(f, text), []);
    }
  });
  it("no updateRow call under src/ passes a state", () => {
    const sources = files(SRC).map((f) => ({ path: relative(SRC, f), text: readFileSync(f, "utf8") }));
    assert.ok(sources.length > 50);
    assert.deepEqual(
      sources.flatMap((f) => stateViaUpdateRow(f.path, f.text)),
      [],
    );
  });
  it("that check finds a state passed to updateRow, over several lines too", () => {
    const text = [
      'this.sessions.updateRow(name, { lastPrompt: p, stateReason: "x" });',
      'this.layer.updateRow(name, { state: "idle" });',
      "this.layer.updateRow(name, {",
      "  account: pick(a, b),",
      '  state: "starting",',
      "});",
      'this.sessions.setState(name, "park", { stateReason: null });',
    ].join("\n");
    assert.deepEqual(stateViaUpdateRow("inbox/pool.ts", text), ["inbox/pool.ts:2", "inbox/pool.ts:3"]);
  });
  it("the check finds a state written around the table", () => {
    const found = strayStateWrites(
      "session-service.ts",
      [
        'this.store.updateSession(name, { state: "idle", stateReason: why }, now);',
        "this.store.updateSession(name, { ...patch, state: t.to }, now);",
        '      patch.state = "busy";',
        "// state: the comment says so",
        "    { state: next, stateReason: null },",
        '  if (row.state === "parked") return;',
      ].join("\n"),
    );
    assert.deepEqual(
      found.map((f) => f.split(":").slice(0, 2).join(":")),
      ["session-service.ts:1", "session-service.ts:3", "session-service.ts:5"],
    );
  });
});
