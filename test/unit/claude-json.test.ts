// updateClaudeJson (issue 13 point 8): a scripted file system and clock, so torn reads and a held lock are exact.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LOCK_STALE_MS, updateClaudeJson, type ClaudeJsonIo } from "../../src/accounts/claude-json.js";

class FakeIo implements ClaudeJsonIo {
  t = 0;
  /** what each read returns, in turn; the last one repeats */
  reads: (string | null)[] = [];
  readCount = 0;
  writes: string[] = [];
  lockHeldUntil = -1;
  lockMtime = 0;
  locked = false;
  log: string[] = [];
  read(): string | null {
    const v = this.reads[Math.min(this.readCount, this.reads.length - 1)]!;
    this.readCount++;
    this.log.push(`read${this.locked ? " (locked)" : ""}`);
    return v;
  }
  write(_p: string, text: string): void {
    assert.ok(this.locked, "writes only under the lock");
    this.writes.push(text);
    this.log.push("write");
  }
  tryLock(): boolean {
    if (this.t < this.lockHeldUntil) return false;
    this.locked = true;
    this.log.push("lock");
    return true;
  }
  lockAge(_p: string, now: number): number | null {
    return this.t < this.lockHeldUntil ? now - this.lockMtime : null;
  }
  unlock(): void {
    if (this.locked) this.log.push("unlock");
    else this.lockHeldUntil = -1; // a stale lock removed
    this.locked = false;
  }
  sleep(ms: number): void {
    this.t += ms;
  }
  now(): number {
    return this.t;
  }
}

const full = JSON.stringify({
  oauthAccount: { emailAddress: "a@x" },
  userID: "u",
  projects: { "/p": { allowedTools: ["Bash"] } },
  numStartups: 9,
});
const trustQ = (doc: Record<string, unknown>): boolean => {
  const projects = (doc.projects ?? {}) as Record<string, Record<string, unknown>>;
  if (projects["/q"]?.hasTrustDialogAccepted) return false;
  projects["/q"] = { ...projects["/q"], hasTrustDialogAccepted: true };
  doc.projects = projects;
  return true;
};

describe("updateClaudeJson", () => {
  it("reads a torn file again until it parses, then merges under the lock: every key kept", () => {
    const io = new FakeIo();
    io.reads = [full.slice(0, 40), full.slice(0, 80), full];
    const r = updateClaudeJson("/h/.claude.json", trustQ, { io });
    assert.deepEqual(r, { outcome: "written", tornReads: 2 });
    const doc = JSON.parse(io.writes[0]!);
    assert.deepEqual(Object.keys(doc).sort(), ["numStartups", "oauthAccount", "projects", "userID"]);
    assert.deepEqual(doc.projects["/p"], { allowedTools: ["Bash"] });
    assert.deepEqual(doc.projects["/q"], { hasTrustDialogAccepted: true });
    assert.deepEqual(io.log.slice(-4), ["lock", "read (locked)", "write", "unlock"]);
  });

  it("never replaces a file that stays unparsable: nothing written, the reason says so", () => {
    const io = new FakeIo();
    io.reads = ['{"oauthAccount": {"emailAdd'];
    const r = updateClaudeJson("/h/.claude.json", trustQ, { io, readRetryMs: 500 });
    assert.equal(r.outcome, "not_json");
    assert.match(
      (r as { reason: string }).reason,
      /is not a JSON object .* after \d+ reads over 500 ms; left as it is, nothing written/,
    );
    assert.deepEqual(io.writes, []);
    assert.ok(!io.log.includes("lock"));
  });

  it("writes nothing when nothing changes (a project already trusted): no lock taken", () => {
    const io = new FakeIo();
    io.reads = [JSON.stringify({ projects: { "/q": { hasTrustDialogAccepted: true } } })];
    assert.deepEqual(updateClaudeJson("/h/.claude.json", trustQ, { io }), { outcome: "unchanged", tornReads: 0 });
    assert.deepEqual(io.log, ["read"]);
  });

  it("merges into what it reads under the lock, not into its first read", () => {
    const io = new FakeIo();
    const later = JSON.stringify({ ...JSON.parse(full), addedByCli: true });
    io.reads = [full, later];
    updateClaudeJson("/h/.claude.json", trustQ, { io });
    assert.equal(JSON.parse(io.writes[0]!).addedByCli, true);
  });

  it("waits for the CLI's lock; a held one past the wait writes nothing; a stale one is taken over", () => {
    const io = new FakeIo();
    io.reads = [full];
    io.lockHeldUntil = 300;
    assert.equal(updateClaudeJson("/h/.claude.json", trustQ, { io }).outcome, "written");
    assert.ok(io.t >= 300, "waited for the holder");

    const held = new FakeIo();
    held.reads = [full];
    held.lockHeldUntil = 1e9;
    held.lockMtime = -2 * LOCK_STALE_MS; // untouched for 20 s
    const r = updateClaudeJson("/h/.claude.json", trustQ, { io: held, lockWaitMs: 1000 });
    assert.equal(r.outcome, "written", "a lock older than the stale time is the CLI's abandoned one");

    const fresh = new FakeIo();
    fresh.reads = [full];
    fresh.lockHeldUntil = 1e9;
    fresh.lockMtime = 1e9; // touched just now by its holder
    fresh.t = LOCK_STALE_MS;
    const r2 = updateClaudeJson("/h/.claude.json", trustQ, { io: fresh, lockWaitMs: 1000 });
    assert.equal(r2.outcome, "locked");
    assert.deepEqual(fresh.writes, []);
  });

  it("a missing file is created", () => {
    const io = new FakeIo();
    io.reads = [null];
    assert.equal(updateClaudeJson("/h/.claude.json", trustQ, { io }).outcome, "written");
    assert.deepEqual(JSON.parse(io.writes[0]!), { projects: { "/q": { hasTrustDialogAccepted: true } } });
  });
});
