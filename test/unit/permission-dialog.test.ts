// The permission dialog read from pane captures of the real CLIs (test/fixtures/panes, taken from 2.1.197 and
// 2.1.332 against the stand-in) and the key each answer takes: the digit of the option labelled "Yes" or "No".
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { answerKey, readPermissionDialog, toolSummary } from "../../src/sessions/permission-dialog.js";
import { REPO } from "../support/harness.js";

const pane = (f: string) => readFileSync(join(REPO, "test", "fixtures", "panes", f), "utf8");
const NOW = Date.UTC(2026, 10, 30, 23, 0);

describe("readPermissionDialog", () => {
  it("reads the Write dialog of 2.1.197: title, file, question, three options", () => {
    const d = readPermissionDialog(pane("perm-write-2.1.197.txt"), NOW)!;
    assert.equal(d.title, "Create file");
    assert.equal(d.ask, "Do you want to create out.txt?");
    assert.match(d.detail, /^out\.txt/);
    assert.deepEqual(
      d.options.map((o) => [o.n, o.label, o.selected]),
      [
        [1, "Yes", true],
        [2, "Yes, allow all edits during this session (shift+tab)", false],
        [3, "No", false],
      ],
    );
    assert.match(d.question, /^Create file: out\.txt.* — Do you want to create out\.txt\?$/);
  });

  it("reads the Bash dialog of 2.1.197 and of 2.1.332 (four options, a tip line left out)", () => {
    const a = readPermissionDialog(pane("perm-bash-2.1.197.txt"), NOW)!;
    assert.equal(
      a.question,
      "Bash command: touch /tmp/pprobe-7kCL9Z/proj/out.txt · touch a file — Do you want to proceed?",
    );
    const b = readPermissionDialog(pane("perm-bash-2.1.332.txt"), NOW)!;
    assert.equal(b.options.length, 4);
    assert.doesNotMatch(b.question, /Tip:/);
    assert.match(
      b.question,
      /^Bash command: touch a file · touch \/tmp\/pprobe-HBpwPa\/proj\/out\.txt — Do you want to proceed\?$/,
    );
  });

  it("is null with no permission dialog: an idle box, a quoted question without options, another dialog", () => {
    const rule = "─".repeat(40);
    assert.equal(readPermissionDialog(`● done\n${rule}\n❯ \n${rule}\n`, NOW), null);
    assert.equal(readPermissionDialog(`● I asked: Do you want to proceed?\n${rule}\n❯ \n${rule}\n`, NOW), null);
    assert.equal(
      readPermissionDialog(
        ` What do you want to do?\n ❯ 1. Stop and wait for limit to reset\n   2. Upgrade your plan\n`,
        NOW,
      ),
      null,
    );
  });
});

describe("answerKey", () => {
  it("yes is the digit of the option labelled exactly Yes, no the one labelled No, whatever their number", () => {
    const old = readPermissionDialog(pane("perm-bash-2.1.197.txt"), NOW)!;
    const neu = readPermissionDialog(pane("perm-bash-2.1.332.txt"), NOW)!;
    assert.deepEqual(
      [answerKey(old, "yes"), answerKey(old, "no")].map((k) => k.ok && k.key),
      ["1", "3"],
    );
    // On 2.1.332, 3 is "Yes, and switch to auto mode": never pressed for a no.
    assert.deepEqual(
      [answerKey(neu, "yes"), answerKey(neu, "no")].map((k) => k.ok && k.key),
      ["1", "4"],
    );
  });

  it("refuses when no plain option is offered", () => {
    const d = readPermissionDialog(pane("perm-write-2.1.197.txt"), NOW)!;
    const k = answerKey({ ...d, options: d.options.filter((o) => o.label !== "No") }, "no");
    assert.equal(k.ok, false);
    assert.match(!k.ok ? k.reason : "", /no plain "No" option/);
  });
});

describe("toolSummary", () => {
  it("names the tool and its main argument", () => {
    assert.equal(toolSummary("Bash", { command: "touch /x", description: "d" }), "Bash: touch /x");
    assert.equal(toolSummary("Write", { file_path: "/p/out.txt", content: "hello" }), "Write: /p/out.txt");
    assert.equal(toolSummary("Odd", { a: 1 }), 'Odd: {"a":1}');
    assert.equal(toolSummary(null, {}), null);
  });
});
