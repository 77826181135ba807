// Issue 15.2, kept so: a session's row in the store is written by one module, sessions/session-service.ts
// (its named methods and updateRow); swap, recovery, the pool and the limit reactor go through it. A source
// check over src/: no other file calls the store's session-row writes.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));
const OWNER = "sessions/session-service.ts";
const WRITES = /\.(?:insertSession|updateSession|deleteSession)\(|\b(?:INSERT INTO|UPDATE|DELETE FROM)\s+sessions\b/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** `file:line` of every session-row write outside the owner and the store itself. */
function strayWrites(sources: { path: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { path, text } of sources) {
    if (path === OWNER || path.startsWith("store/")) continue;
    text.split("\n").forEach((line, i) => {
      if (WRITES.test(line)) out.push(`${path}:${i + 1}: ${line.trim()}`);
    });
  }
  return out;
}

describe("session rows have one writer", () => {
  it("no file under src/ but sessions/session-service.ts (and store/) writes a session row", () => {
    const sources = files(SRC).map((f) => ({ path: relative(SRC, f), text: readFileSync(f, "utf8") }));
    assert.ok(sources.some((s) => s.path === OWNER));
    assert.deepEqual(strayWrites(sources), []);
  });
  it("the check finds a direct write, and raw SQL, elsewhere", () => {
    const found = strayWrites([
      { path: "sessions/swap.ts", text: "x\n    this.store.updateSession(name, { state: 'idle' }, now);" },
      { path: "quota/x.ts", text: 'db.prepare("UPDATE sessions SET state = ?")' },
      { path: OWNER, text: "this.store.updateSession(name, {}, now);" },
    ]);
    assert.deepEqual(
      found.map((f) => f.split(":").slice(0, 2).join(":")),
      ["sessions/swap.ts:2", "quota/x.ts:1"],
    );
  });
});
