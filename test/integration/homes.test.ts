import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { credentialsPath, readCredentials } from "../../src/accounts/credentials.js";
import { type HomeSpec, prepareHome, seedClaudeJson, SHARED_DIRS, sharedDirFor } from "../../src/accounts/homes.js";

describe("account homes", () => {
  let root: string;
  let shared: string;
  let realHome: string;
  let projectReal: string;
  let projectLink: string;
  let n = 0;

  const ctx = () => ({ sharedProjectsDir: shared, projects: [projectLink], realHome });
  const spec = (over: Partial<HomeSpec> = {}): HomeSpec => ({
    account: `acct${++n}`,
    home: join(root, `home${n}`),
    managed: true,
    linkFiles: [],
    ...over,
  });
  const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8")) as Record<string, any>;
  const isLinkTo = (at: string, target: string) => lstatSync(at).isSymbolicLink() && readlinkSync(at) === target;

  before(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), "cf-homes-it-")));
    shared = join(root, "shared", "projects");
    realHome = join(root, "real-home");
    mkdirSync(join(realHome, ".ssh"), { recursive: true });
    writeFileSync(join(realHome, ".gitconfig"), "[user]\n\tname = Dev\n");
    writeFileSync(join(realHome, ".ssh", "config"), "Host *\n");
    projectReal = join(root, "proj-real");
    projectLink = join(root, "proj-link");
    mkdirSync(projectReal);
    symlinkSync(projectReal, projectLink);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("links every SHARED_DIRS entry to the shared tree; a second run does nothing", () => {
    const s = spec();
    const r1 = prepareHome(s, ctx());
    assert.deepEqual(r1.warnings, []);
    for (const d of SHARED_DIRS) {
      const at = join(s.home, ".claude", d);
      const target = sharedDirFor(shared, d);
      assert.ok(isLinkTo(at, target), `${d} is a link to ${target}`);
      assert.ok(statSync(target).isDirectory());
    }
    assert.equal(sharedDirFor(shared, "projects"), shared);
    assert.equal(sharedDirFor(shared, "todos"), join(root, "shared", "todos"));
    assert.ok(r1.actions.length >= SHARED_DIRS.length + 1);

    const r2 = prepareHome(s, ctx());
    assert.deepEqual(r2.actions, []);
    assert.deepEqual(r2.warnings, []);
  });

  it("a real projects dir is merged into the shared tree (clashes keep both) and replaced by the link", () => {
    mkdirSync(join(shared, "-proj"), { recursive: true });
    writeFileSync(join(shared, "-proj", "same.jsonl"), "shared copy\n");
    writeFileSync(join(shared, "-proj", "shared-only.jsonl"), "s\n");

    const s = spec();
    const local = join(s.home, ".claude", "projects");
    mkdirSync(join(local, "-proj"), { recursive: true });
    mkdirSync(join(local, "-other"), { recursive: true });
    writeFileSync(join(local, "-proj", "same.jsonl"), "local copy\n");
    writeFileSync(join(local, "-proj", "local-only.jsonl"), "l\n");
    writeFileSync(join(local, "-other", "x.jsonl"), "x\n");

    const r = prepareHome(s, ctx());
    assert.ok(isLinkTo(local, shared));
    assert.ok(r.actions.some((a) => a.startsWith("merged")));
    assert.equal(readFileSync(join(shared, "-proj", "same.jsonl"), "utf8"), "shared copy\n");
    assert.equal(readFileSync(join(shared, "-proj", "same.jsonl.merged"), "utf8"), "local copy\n");
    assert.equal(readFileSync(join(shared, "-proj", "local-only.jsonl"), "utf8"), "l\n");
    assert.equal(readFileSync(join(shared, "-proj", "shared-only.jsonl"), "utf8"), "s\n");
    assert.equal(readFileSync(join(shared, "-other", "x.jsonl"), "utf8"), "x\n");
    assert.ok(r.warnings.some((w) => w.includes("same.jsonl")));

    // A second clash on the same name keeps a third copy rather than overwriting the first merge.
    const s2 = spec();
    mkdirSync(join(s2.home, ".claude", "projects", "-proj"), { recursive: true });
    writeFileSync(join(s2.home, ".claude", "projects", "-proj", "same.jsonl"), "third copy\n");
    prepareHome(s2, ctx());
    const names = readdirSync(join(shared, "-proj")).filter((f) => f.startsWith("same.jsonl"));
    assert.equal(names.length, 3);
    const contents = names.map((f) => readFileSync(join(shared, "-proj", f), "utf8")).sort();
    assert.deepEqual(contents, ["local copy\n", "shared copy\n", "third copy\n"]);
  });

  it("a link pointing elsewhere is relinked, and its old target is left intact", () => {
    const s = spec();
    const elsewhere = join(root, "elsewhere-todos");
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, "keep.json"), "{}");
    mkdirSync(join(s.home, ".claude"), { recursive: true });
    symlinkSync(elsewhere, join(s.home, ".claude", "todos"));
    symlinkSync(join(root, "dangling"), join(s.home, ".claude", "plans"));
    const r = prepareHome(s, ctx());
    assert.ok(isLinkTo(join(s.home, ".claude", "todos"), sharedDirFor(shared, "todos")));
    assert.ok(isLinkTo(join(s.home, ".claude", "plans"), sharedDirFor(shared, "plans")));
    assert.ok(r.actions.some((a) => a.startsWith("relinked")));
    assert.ok(existsSync(join(elsewhere, "keep.json")));
  });

  it("a plain file where a shared dir belongs is left alone with a warning", () => {
    const s = spec();
    mkdirSync(join(s.home, ".claude"), { recursive: true });
    writeFileSync(join(s.home, ".claude", "todos"), "not a dir");
    const r = prepareHome(s, ctx());
    assert.equal(readFileSync(join(s.home, ".claude", "todos"), "utf8"), "not a dir");
    assert.ok(r.warnings.some((w) => w.includes("todos")));
  });

  it(".claude.json is seeded (onboarding, theme, trust for the path and its realpath), keeping the CLI's keys", () => {
    const s = spec();
    mkdirSync(s.home, { recursive: true });
    writeFileSync(
      join(s.home, ".claude.json"),
      JSON.stringify({
        userID: "abc",
        theme: "light",
        numStartups: 7,
        projects: {
          "/unrelated": { allowedTools: ["Bash"] },
          [projectLink]: { history: ["x"], hasCompletedProjectOnboarding: false },
        },
      }),
    );
    prepareHome(s, ctx());
    const doc = readJson(join(s.home, ".claude.json"));
    assert.equal(doc.hasCompletedOnboarding, true);
    assert.equal(doc.theme, "light", "a theme the user picked is kept");
    assert.equal(doc.userID, "abc");
    assert.equal(doc.numStartups, 7);
    assert.deepEqual(doc.projects["/unrelated"], { allowedTools: ["Bash"] });
    assert.deepEqual(doc.projects[projectLink], {
      history: ["x"],
      hasCompletedProjectOnboarding: false,
      hasTrustDialogAccepted: true,
    });
    assert.deepEqual(doc.projects[projectReal], { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true });
    assert.equal(statSync(join(s.home, ".claude.json")).mode & 0o777, 0o600);

    const fresh = spec();
    prepareHome(fresh, { ...ctx(), projects: [join(root, "not-created-yet")] });
    const d2 = readJson(join(fresh.home, ".claude.json"));
    assert.equal(d2.theme, "dark");
    assert.equal(d2.hasCompletedOnboarding, true);
    assert.deepEqual(Object.keys(d2.projects), [join(root, "not-created-yet")]);
  });

  it("a project already trusted: .claude.json is not rewritten (same inode and mtime, no lock taken)", () => {
    const s = spec();
    prepareHome(s, ctx());
    const path = join(s.home, ".claude.json");
    const before = statSync(path);
    const report = { account: s.account, actions: [] as string[], warnings: [] as string[] };
    seedClaudeJson(path, ctx().projects, report);
    const after = statSync(path);
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs]);
    assert.deepEqual(report, { account: s.account, actions: [], warnings: [] });
    assert.ok(!readdirSync(s.home).includes(".claude.json.lock"));
  });

  it("a .claude.json that does not parse is never replaced: left as it is, with a warning", () => {
    const s = spec();
    mkdirSync(s.home, { recursive: true });
    writeFileSync(join(s.home, ".claude.json"), "{ not json");
    const r = prepareHome(s, { ...ctx(), claudeJson: { readRetryMs: 200 } });
    assert.equal(readFileSync(join(s.home, ".claude.json"), "utf8"), "{ not json");
    assert.deepEqual(
      readdirSync(s.home).filter((f) => f.startsWith(".claude.json")),
      [".claude.json"],
      "nothing moved aside, no lock left",
    );
    assert.ok(
      r.warnings.some((w) => /not a JSON object .* left as it is, nothing written/.test(w)),
      r.warnings.join("\n"),
    );
  });

  it(".credentials.json is never touched: same bytes, same inode, not a link", () => {
    const s = spec();
    const creds = credentialsPath(s.home);
    mkdirSync(join(s.home, ".claude"), { recursive: true });
    const body = '{"claudeAiOauth":{"accessToken":"sk-ant-oat01-secret","refreshToken":"r"}}';
    writeFileSync(creds, body, { mode: 0o600 });
    const before = statSync(creds);
    prepareHome(s, ctx());
    prepareHome(s, ctx());
    const afterSt = lstatSync(creds);
    assert.equal(afterSt.isSymbolicLink(), false);
    assert.equal(afterSt.ino, before.ino);
    assert.equal(afterSt.mtimeMs, before.mtimeMs);
    assert.equal(afterSt.mode & 0o777, 0o600);
    assert.equal(readFileSync(creds, "utf8"), body);
    // And nothing of it leaked into the shared tree.
    const sharedRoot = join(root, "shared");
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [e.name]));
    assert.ok(!walk(sharedRoot).some((f) => f.includes("credentials")));
  });

  it("an unmanaged home is not touched at all", () => {
    const s = spec({ managed: false, linkFiles: [".gitconfig"] });
    mkdirSync(join(s.home, ".claude", "projects"), { recursive: true });
    writeFileSync(join(s.home, ".claude", "projects", "mine.jsonl"), "m");
    const r = prepareHome(s, ctx());
    assert.deepEqual(r, { account: s.account, actions: [], warnings: [] });
    assert.deepEqual(readdirSync(s.home), [".claude"]);
    assert.ok(lstatSync(join(s.home, ".claude", "projects")).isDirectory());
    assert.deepEqual(readdirSync(join(s.home, ".claude")), ["projects"]);
  });

  it("link_files from the real home are symlinked; existing files are left alone; missing ones skipped", () => {
    const s = spec({ linkFiles: [".gitconfig", ".ssh/config", ".config/gh/hosts.yml", ".npmrc"] });
    mkdirSync(s.home, { recursive: true });
    writeFileSync(join(s.home, ".npmrc"), "mine");
    writeFileSync(join(realHome, ".npmrc"), "real");
    const r = prepareHome(s, ctx());
    assert.ok(isLinkTo(join(s.home, ".gitconfig"), join(realHome, ".gitconfig")));
    assert.ok(isLinkTo(join(s.home, ".ssh", "config"), join(realHome, ".ssh", "config")));
    assert.equal(existsSync(join(s.home, ".config", "gh", "hosts.yml")), false);
    assert.equal(lstatSync(join(s.home, ".npmrc")).isSymbolicLink(), false);
    assert.equal(readFileSync(join(s.home, ".npmrc"), "utf8"), "mine");
    assert.ok(r.warnings.some((w) => w.includes(".npmrc")));
    assert.deepEqual(prepareHome(s, ctx()).actions, []);
  });
});

describe("readCredentials", () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), "cf-creds-it-"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const home = (name: string, body?: string) => {
    const h = join(root, name);
    mkdirSync(join(h, ".claude"), { recursive: true });
    if (body !== undefined) writeFileSync(credentialsPath(h), body);
    return h;
  };

  it("ok: reads the OAuth fields", () => {
    const h = home(
      "ok",
      JSON.stringify({
        claudeAiOauth: {
          accessToken: "at",
          refreshToken: "rt",
          expiresAt: 1_800_000_000_000,
          subscriptionType: "max",
          scopes: ["user:inference", 3],
        },
      }),
    );
    const r = readCredentials(h);
    assert.equal(r.ok, true);
    if (!r.ok) return;
    assert.equal(r.creds.accessToken, "at");
    assert.equal(r.creds.refreshToken, "rt");
    assert.equal(r.creds.expiresAt, 1_800_000_000_000);
    assert.equal(r.creds.subscriptionType, "max");
    assert.deepEqual(r.creds.scopes, ["user:inference"]);
    assert.ok(r.creds.mtimeMs > 0);
  });

  it("ok with only an access token: optional fields are null/empty", () => {
    const r = readCredentials(home("minimal", '{"claudeAiOauth":{"accessToken":"at"}}'));
    assert.deepEqual(r.ok && { ...r.creds, mtimeMs: 0 }, {
      accessToken: "at",
      refreshToken: null,
      expiresAt: null,
      subscriptionType: null,
      scopes: [],
      mtimeMs: 0,
    });
  });

  it("missing", () => {
    const r = readCredentials(home("missing"));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, "missing");
  });

  for (const [name, body] of [
    ["not-json", "{oops"],
    ["no-oauth", '{"other":1}'],
    ["empty-token", '{"claudeAiOauth":{"accessToken":""}}'],
    ["null", "null"],
  ] as const) {
    it(`malformed: ${name}`, () => {
      const r = readCredentials(home(name, body));
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.reason, "malformed");
    });
  }
});
