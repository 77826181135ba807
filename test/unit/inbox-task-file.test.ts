import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  isCandidateName,
  parseTaskFile,
  readiness,
  taskFromFile,
  validateTask,
  type ValidateContext,
} from "../../src/inbox/task-file.js";

const ctx: ValidateContext = {
  defaultProject: "/srv/default",
  accounts: ["a", "b"],
  projectExists: (p) => ["/srv/default", "/srv/app", "/srv/my app"].includes(p),
};
const file = (s: string) => taskFromFile(Buffer.from(s), 10_000, ctx);

describe("task files", () => {
  const good: [string, string, Record<string, unknown>][] = [
    [
      "no front matter: all of it is the prompt",
      "fix the bug\n",
      { prompt: "fix the bug", project: "/srv/default", priority: 0, account: null, model: null, id: null },
    ],
    [
      "every key",
      "---\nproject: /srv/app\npriority: 5\naccount: b\nmodel: claude-sonnet-4-5\nid: nightly.report_1\n---\nrun it\n",
      {
        prompt: "run it",
        project: "/srv/app",
        priority: 5,
        account: "b",
        model: "claude-sonnet-4-5",
        id: "nightly.report_1",
      },
    ],
    ["empty front matter", "---\n---\nhello", { prompt: "hello", priority: 0 }],
    [
      "CRLF and a BOM",
      "\uFEFF---\r\npriority: -2\r\n---\r\nline 1\r\nline 2\r\n",
      { prompt: "line 1\nline 2", priority: -2 },
    ],
    ["'...' closes the front matter too", "---\npriority: 1\n...\nbody", { prompt: "body", priority: 1 }],
    [
      "a quoted path with a space, trailing slash dropped",
      '---\nproject: "/srv/my app/"\n---\nx',
      { project: "/srv/my app" },
    ],
    ["null values mean unset", "---\naccount:\nmodel: ~\n---\nx", { account: null, model: null }],
    [
      "leading blank lines of the body dropped, inner layout kept",
      "---\nid: x1\n---\n\n\n  indented\n\n  more\n",
      { prompt: "  indented\n\n  more" },
    ],
    ["a body with its own --- rule later", "---\nid: r\n---\nabove\n---\nbelow", { prompt: "above\n---\nbelow" }],
    [
      "worktree, base and timeout",
      "---\nworktree: true\nbase: release/1.2\ntimeout: 1h30m\n---\nx",
      { worktree: true, base: "release/1.2", timeoutMs: 5_400_000 },
    ],
    ["no worktree and no timeout by default", "x", { worktree: false, base: null, timeoutMs: null }],
  ];
  for (const [name, text, want] of good) {
    it(`accepts ${name}`, () => {
      const r = file(text);
      assert.ok(r.ok, JSON.stringify(r));
      for (const [k, v] of Object.entries(want))
        assert.deepEqual((r.value as unknown as Record<string, unknown>)[k], v, k);
    });
  }

  const bad: [string, string | Buffer, RegExp][] = [
    ["an empty file", "", /empty file/],
    ["whitespace only", " \n\t\n", /empty file/],
    ["front matter without a body", "---\npriority: 1\n---\n\n", /empty prompt/],
    ["an unclosed front matter", "---\npriority: 1\nhello", /no closing '---'/],
    ["broken YAML", "---\nproject: [a\n---\nx", /unreadable front matter/],
    ["duplicate keys", "---\npriority: 1\npriority: 2\n---\nx", /unreadable front matter: Map keys must be unique/],
    ["a list instead of keys", "---\n- a\n---\nx", /expected 'key: value' lines/],
    [
      "an unknown key",
      "---\nprojct: /srv/app\n---\nx",
      /unknown front-matter key: projct \(allowed: project, priority, account, model, id, worktree, base, timeout, box\)/,
    ],
    ["a relative project", "---\nproject: src/app\n---\nx", /must be an absolute path, got "src\/app"/],
    ["a ~ project (not expanded)", "---\nproject: ~/app\n---\nx", /absolute path/],
    ["a missing project", "---\nproject: /srv/gone\n---\nx", /\/srv\/gone does not exist/],
    ["a non-string project", "---\nproject: 5\n---\nx", /project: must be a path, got 5/],
    ["a fractional priority", "---\npriority: 1.5\n---\nx", /priority: must be an integer from -1000 to 1000, got 1.5/],
    ["a string priority", '---\npriority: "3"\n---\nx', /priority: must be an integer/],
    ["a priority out of range", "---\npriority: 5000\n---\nx", /priority/],
    ["an unknown account", "---\naccount: c\n---\nx", /no account named "c" \(configured: a, b\)/],
    ["a model with a space", '---\nmodel: "a b"\n---\nx', /model: must be a model name/],
    ["an id with a slash", "---\nid: ../../etc\n---\nx", /id: must be 1-128 letters/],
    ["a worktree that is not a boolean", "---\nworktree: yes please\n---\nx", /worktree: must be true or false/],
    ["a base without a worktree", "---\nbase: main\n---\nx", /base: only for a task that runs in a worktree/],
    [
      "an option-looking base",
      "---\nworktree: true\nbase: --upload-pack=evil\n---\nx",
      /base: must be a branch, tag or commit name/,
    ],
    ["a timeout without a unit", "---\ntimeout: 30\n---\nx", /timeout: must be a duration like 30s/],
    ["a timeout under a second", "---\ntimeout: 500ms\n---\nx", /timeout: must be from 1s to 7d/],
    ["invalid UTF-8", Buffer.from([0x68, 0x69, 0xc3, 0x28]), /not UTF-8 text/],
  ];
  for (const [name, text, why] of bad) {
    it(`rejects ${name}`, () => {
      const r = taskFromFile(typeof text === "string" ? Buffer.from(text) : text, 10_000, ctx);
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, why);
    });
  }

  it("rejects an oversized file before parsing it", () => {
    const r = taskFromFile(Buffer.from("x".repeat(101)), 100, ctx);
    assert.deepEqual(r, { ok: false, reason: "file too large: 101 bytes, inbox.max_file_bytes is 100" });
  });

  it("a worktree task (its own, or pool.worktree) needs a git project; others are not asked", () => {
    const notGit = (p: string) => (p === "/srv/app" ? null : `worktree: ${p} is not a git repository`);
    const c = { ...ctx, notGit };
    assert.match(
      (validateTask({ prompt: "x", worktree: true }, c) as { reason: string }).reason,
      /\/srv\/default is not a git repository/,
    );
    assert.ok(validateTask({ prompt: "x", worktree: true, project: "/srv/app" }, c).ok);
    assert.ok(validateTask({ prompt: "x" }, c).ok);
    const byDefault = validateTask({ prompt: "x" }, { ...c, defaultWorktree: true });
    assert.equal(byDefault.ok, false);
    const off = validateTask({ prompt: "x", worktree: false }, { ...c, defaultWorktree: true });
    assert.ok(off.ok && off.value.worktree === false);
  });

  it("with pool.permission_mode bypassPermissions a task may not opt out of its worktree", () => {
    const c = { ...ctx, notGit: () => null, defaultWorktree: true, worktreeRequired: true };
    assert.match(
      (validateTask({ prompt: "x", worktree: false }, c) as { reason: string }).reason,
      /worktree: false is refused: pool\.permission_mode is bypassPermissions/,
    );
    assert.ok(validateTask({ prompt: "x" }, c).ok);
  });

  it("needs a project when no default is configured", () => {
    const r = validateTask({ prompt: "x" }, { ...ctx, defaultProject: null });
    assert.match((r as { reason: string }).reason, /none given and pool.project is not set/);
  });

  it("keeps the body verbatim apart from the frame", () => {
    const r = parseTaskFile(Buffer.from("---\nid: a\n---\n$(rm -rf /) `x` 'q' \"d\"\n"));
    assert.ok(r.ok);
    assert.equal(r.value.prompt, "$(rm -rf /) `x` 'q' \"d\"\n");
  });
});

describe("inbox file names and readiness", () => {
  for (const [name, want] of [
    ["task.md", true],
    ["notes.txt", true],
    [".task.md", false],
    ["task.md.tmp", false],
    ["x.part", false],
    ["x.swp", false],
    ["x~", false],
  ] as const) {
    it(`${name} ${want ? "is" : "is not"} a candidate`, () => assert.equal(isCandidateName(name), want));
  }
  const now = 1_000_000;
  it("a file renamed in after its last write is ready at once", () =>
    assert.deepEqual(readiness({ mtimeMs: now - 5, ctimeMs: now - 1 }, now, 500), { ready: true }));
  it("a file still being written waits out the rest of stable_time", () =>
    assert.deepEqual(readiness({ mtimeMs: now - 100, ctimeMs: now - 100 }, now, 500), {
      ready: false,
      recheckInMs: 400,
    }));
  it("a file unchanged for stable_time is ready", () =>
    assert.deepEqual(readiness({ mtimeMs: now - 500, ctimeMs: now - 500 }, now, 500), { ready: true }));
});

describe("task files: hostile input is rejected with a reason, never thrown", () => {
  const reject = (name: string, bytes: Buffer | string, reason: RegExp) =>
    void it(name, () => {
      const r = taskFromFile(typeof bytes === "string" ? Buffer.from(bytes) : bytes, 1_000_000, ctx);
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, reason);
    });
  const bomb = [
    "---",
    "a: &a [x, x, x, x, x, x, x, x, x]",
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
    "---",
    "x",
  ].join("\n");
  reject("an alias bomb", bomb, /YAML aliases \(\*name\) are not allowed/);
  reject("even a single alias", "---\nproject: &p /srv/app\nid: *p\n---\nx", /YAML aliases/);
  reject("a NUL byte, with its offset", Buffer.from("hello\0world"), /^binary file: NUL byte at offset 5$/);
  reject(
    "deep flow nesting (the yaml package dies of it past ~20,000)",
    `---\nproject: ${"[".repeat(5000)}${"]".repeat(5000)}\n---\nx`,
    /nested deeper than 16 levels/,
  );
  reject(
    "deep block nesting",
    `---\n${Array.from({ length: 40 }, (_, i) => `${" ".repeat(i * 2)}k${i}:`).join("\n")} 1\n---\nx`,
    /nested deeper than 16 levels/,
  );
  reject(
    "front matter over 16 KiB",
    `---\nproject: "/${"a".repeat(17_000)}"\n---\nx`,
    /front matter too long: \d+ characters, at most 16384/,
  );
  reject("a nested value", "---\nproject: {a: 1}\n---\nx", /project: must be a path, got \{"a":1\}/);
  it("a long bad value is cut in the reason", () => {
    const r = taskFromFile(Buffer.from(`---\nmodel: "${"x;".repeat(2000)}"\n---\nx`), 1_000_000, ctx);
    assert.equal(r.ok, false);
    assert.ok((r as { reason: string }).reason.length < 400);
    assert.match((r as { reason: string }).reason, /… \(4002 characters\)$/);
  });
  it("CRLF is normalised in the prompt and the front matter", () => {
    const r = taskFromFile(Buffer.from("---\r\npriority: 3\r\n---\r\na\r\nb\r\n"), 1_000_000, ctx);
    assert.ok(r.ok);
    assert.equal(r.value.prompt, "a\nb");
    assert.equal(r.value.priority, 3);
  });
  it("parseTaskFile never throws on garbage", () => {
    for (const s of [
      "---\n: : :\n---\n",
      "---\n[\n---\n",
      "---\n!!binary x\n---\n",
      "---\n? [a, b]\n: c\n---\n",
      "---\n&a a: *a\n---\n",
    ]) {
      assert.doesNotThrow(() => parseTaskFile(Buffer.from(s)), s);
    }
  });
});

describe("validateTask: prompts the CLI would not take as text", () => {
  it("refuses a /word start and a control character at enqueue, with the reason; a path start is a prompt", () => {
    assert.match(
      (validateTask({ prompt: "/logout now" }, ctx) as { reason: string }).reason,
      /prompt starts with \/logout, which the CLI would run as a slash command/,
    );
    assert.match(
      (validateTask({ prompt: "a\u001b[201~b" }, ctx) as { reason: string }).reason,
      /control character \(ESC at offset 1\)/,
    );
    assert.ok(validateTask({ prompt: "/tmp/x what is this" }, ctx).ok);
  });
});

describe("box: pins a task to one box (issue 19)", () => {
  const shared = { ...ctx, boxes: { me: "laptop", shared: true } };
  const local = { ...ctx, boxes: { me: "laptop", shared: false } };
  const pinOf = (s: string, c: ValidateContext) => {
    const r = taskFromFile(Buffer.from(s), 10_000, c);
    return r.ok ? { pin: r.value.pinBox } : { reason: r.reason };
  };

  it("no box: means any box", () => {
    assert.deepEqual(pinOf("x\n", shared), { pin: null });
    assert.deepEqual(pinOf("---\nbox:\n---\nx", shared), { pin: null });
  });

  it("with a shared queue any well-formed name is taken, one no box has used yet included", () => {
    assert.deepEqual(pinOf("---\nbox: server-2\n---\nx", shared), { pin: "server-2" });
    assert.deepEqual(pinOf("---\nbox: laptop\n---\nx", shared), { pin: "laptop" });
  });

  it("without a shared queue (sqlite) only this box's own name is taken: a pin to another box is refused with why", () => {
    assert.deepEqual(pinOf("---\nbox: laptop\n---\nx", local), { pin: "laptop" });
    const r = pinOf("---\nbox: server-2\n---\nx", local);
    assert.match(
      String(r.reason),
      /^box: pins the task to box "server-2", but this box is "laptop" and store.backend is sqlite/,
    );
  });

  it("a malformed name is refused, saying what is wrong", () => {
    for (const bad of ["box: -x", "box: 'a b'", "box: 12", "box: [a]", `box: ${"a".repeat(64)}`]) {
      const r = pinOf(`---\n${bad}\n---\nx`, shared);
      assert.match(String(r.reason), /^box: must be a box name/, bad);
    }
  });

  it("validateTask takes box from an enqueue request like from a file", () => {
    const r = validateTask({ prompt: "x", box: "server-2" }, shared);
    assert.ok(r.ok);
    assert.equal(r.value.pinBox, "server-2");
  });
});
