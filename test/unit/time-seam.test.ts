// Issue 15.5, kept so: the daemon's modules read time and set timers only through util/clock.ts's Clock
// (systemClock in production, a ManualClock in unit tests), so every wait can be driven by hand and cancelled.
// A source check over src/: no file outside the allowlist calls Date.now(), new Date() (no argument),
// setTimeout or setInterval. Comments don't count.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));
const DIRECT = /\bDate\.now\(\)|\bnew Date\(\)|\bset(?:Timeout|Interval)\(/;

/** Paths (a folder ends with /) allowed to use the host's clock and timers directly, each with why. */
export const ALLOWED: Record<string, string> = {
  "util/clock.ts": "the seam itself: systemClock",
  "tmux/exec.ts": "the kill timer of a real child process (tmux) that overran",
  "util/log.ts": "log lines carry wall time, as pino's own timestamps do",
  "util/abort.ts": "outgoing requests' real timeouts, held by a strong timer (see its comment: lost aborts after GC)",
  "cli/": "one-shot user commands (default `now` of the text formatters, events --follow)",
  "ops/": "one-shot operator commands (init, login, doctor) and the instance lock's half-second wait at start",
  // Other work in progress (issue 19, the dashboard): not moved to the clock yet.
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

function allowed(path: string): boolean {
  return Object.keys(ALLOWED).some((a) => (a.endsWith("/") ? path.startsWith(a) : path === a));
}

/** The text without comments (block and line), line breaks kept so line numbers stay right. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "))
    .split("\n")
    .map((l) => l.replace(/(^|[^:"'`])\/\/.*$/, "$1"))
    .join("\n");
}

/** `file:line: text` of every direct clock or timer use outside the allowlist. */
function strayUses(sources: { path: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { path, text } of sources) {
    if (allowed(path)) continue;
    code(text)
      .split("\n")
      .forEach((line, i) => {
        if (DIRECT.test(line)) out.push(`${path}:${i + 1}: ${line.trim()}`);
      });
  }
  return out;
}

describe("time behind the clock", () => {
  it("no file under src/ outside the allowlist calls Date.now(), new Date(), setTimeout or setInterval", () => {
    const sources = files(SRC).map((f) => ({ path: relative(SRC, f), text: readFileSync(f, "utf8") }));
    assert.ok(sources.some((s) => s.path === "util/clock.ts"));
    assert.deepEqual(strayUses(sources), []);
  });
  it("every allowlist entry still exists (a stale entry would hide a new file)", () => {
    const paths = files(SRC).map((f) => relative(SRC, f));
    for (const a of Object.keys(ALLOWED))
      assert.ok(
        paths.some((p) => (a.endsWith("/") ? p.startsWith(a) : p === a)),
        `${a} is in the allowlist but not in src/`,
      );
  });
  it("the check finds each direct use elsewhere, not one in a comment or an allowed file", () => {
    const found = strayUses([
      { path: "inbox/x.ts", text: "const now = Date.now();\nsetTimeout(f, 10);\nconst t = setInterval(g, 5);" },
      { path: "quota/y.ts", text: "// Date.now() in a comment\n/* setTimeout(f, 1)\n */ const d = new Date();" },
      { path: "sessions/z.ts", text: "const when = new Date(ts); // a conversion, not a read" },
      { path: "util/clock.ts", text: "now: () => Date.now()" },
      { path: "cli/format.ts", text: "export function ago(ts, now = Date.now()) {}" },
    ]);
    assert.deepEqual(
      found.map((f) => f.split(":").slice(0, 2).join(":")),
      ["inbox/x.ts:1", "inbox/x.ts:2", "inbox/x.ts:3", "quota/y.ts:3"],
    );
  });
});
