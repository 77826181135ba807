// inbox.allowed_roots (issue 13 point 4): real directories and symlinks in a temp dir.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkAllowedProject } from "../../src/inbox/allowed-roots.js";

describe("checkAllowedProject", () => {
  const t = realpathSync(mkdtempSync(join(tmpdir(), "cf-roots-")));
  after(() => rmSync(t, { recursive: true, force: true }));
  const home = join(t, "home");
  const root = join(home, "code");
  const elsewhere = join(t, "elsewhere");
  for (const d of [join(root, "a", "deep"), elsewhere, join(home, "notes")]) mkdirSync(d, { recursive: true });
  symlinkSync(elsewhere, join(root, "escape")); // leads out of the root
  symlinkSync(join(root, "a"), join(t, "into-root")); // leads into it
  const check = (p: string, roots = [root]) => checkAllowedProject(p, roots, home);

  it("allows the root itself and folders below it", () => {
    assert.deepEqual(check(root), { ok: true });
    assert.deepEqual(check(join(root, "a", "deep")), { ok: true });
  });
  it("refuses a folder outside every root, naming the roots", () => {
    const r = check(join(home, "notes"));
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : "", /is not inside any of inbox\.allowed_roots: .*\/home\/code/);
  });
  it("refuses a symlink that leaves a root, saying where it leads", () => {
    const r = check(join(root, "escape"));
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : "", new RegExp(`resolves to ${elsewhere} through a symlink`));
  });
  it("allows a symlink from outside that leads into a root (the real path counts)", () => {
    assert.deepEqual(check(join(t, "into-root")), { ok: true });
  });
  it("a sibling whose name starts like the root is not inside it", () => {
    mkdirSync(`${root}-other`, { recursive: true });
    assert.equal(check(`${root}-other`).ok, false);
  });
  it("refuses / and the home directory whatever the roots say", () => {
    const slash = checkAllowedProject("/", ["/"], home);
    assert.match(!slash.ok ? slash.reason : "", /root directory, never allowed/);
    const h = check(home, [home, t]);
    assert.match(!h.ok ? h.reason : "", /home directory, never allowed/);
    assert.deepEqual(check(join(home, "notes"), [home]), { ok: true }, "below an explicitly allowed home is fine");
  });
  it("no roots configured allows nothing; a missing root allows nothing", () => {
    assert.match((check(root, []) as { reason: string }).reason, /none configured/);
    assert.equal(check(root, [join(t, "missing")]).ok, false);
  });
});
