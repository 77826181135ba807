// accounts add/remove edit the config text in place: comments, order and layout kept (issue 12, point 3).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultConfigText } from "../../src/config/default-config.js";
import { formatIssue, parseConfig } from "../../src/config/load.js";
import {
  addAccountText,
  addDedicatedText,
  removeAccountText,
  setAccountDisabledText,
} from "../../src/ops/accounts-edit.js";

const HOME = "/home/u";
const resolveHome = (h: string) => h.replace(/^~/, HOME);
const first = defaultConfigText("/home/u/proj");

function valid(text: string) {
  const r = parseConfig(text, "c.yaml", { env: {}, home: HOME });
  if (!r.ok) assert.fail(r.issues.map(formatIssue).join("\n"));
  return r.config;
}

describe("accounts add", () => {
  it("appends the account after the others, keeping every comment line and the rest of the file", () => {
    const r = addAccountText(first, { name: "work", home: "~/claude-accounts/work" }, resolveHome);
    assert.ok(r.ok);
    for (const line of first.split("\n").filter((l) => l.trim().startsWith("#")))
      assert.ok(r.text.includes(line), `comment lost: ${line}`);
    const c = valid(r.text);
    assert.deepEqual(
      c.accounts.map((a) => [a.name, a.home, a.priority, a.managed]),
      [
        ["default", HOME, 100, false],
        ["work", `${HOME}/claude-accounts/work`, 110, true],
      ],
    );
    assert.ok(r.text.indexOf("name: work") < r.text.indexOf("sessions:"), "the new account sits in the accounts list");
    assert.equal(c.dedicated[0]!.project, "/home/u/proj");
  });
  it("refuses a taken name, a used home and a bad name", () => {
    assert.match(
      (addAccountText(first, { name: "DEFAULT", home: "/x" }, resolveHome) as { message: string }).message,
      /already an account named default/,
    );
    assert.match(
      (addAccountText(first, { name: "x", home: "~" }, resolveHome) as { message: string }).message,
      /account default already uses the home ~/,
    );
    assert.match(
      (addAccountText(first, { name: "a b", home: "/x" }, resolveHome) as { message: string }).message,
      /not a usable account name/,
    );
  });
});

describe("accounts remove", () => {
  const two = (addAccountText(first, { name: "work", home: "/w", priority: 5 }, resolveHome) as { text: string }).text;
  it("disables, then removes, keeping comments", () => {
    const d = setAccountDisabledText(two, "work", true);
    assert.ok(d.ok);
    assert.equal(valid(d.text).accounts.find((a) => a.name === "work")!.disabled, true);
    const r = removeAccountText(d.text, "work");
    assert.ok(r.ok);
    assert.deepEqual(
      valid(r.text).accounts.map((a) => a.name),
      ["default"],
    );
    assert.ok(r.text.includes("# Your own ~/.claude is used as it is"));
  });
  it("refuses the last account, an unknown one, and one a session is pinned to", () => {
    assert.match((removeAccountText(first, "default") as { message: string }).message, /only account/);
    assert.match((removeAccountText(two, "nope") as { message: string }).message, /no account named nope/);
    const pinned = two.replace(`project: "/home/u/proj"`, `project: "/home/u/proj"\n    account: work`);
    assert.match((removeAccountText(pinned, "work") as { message: string }).message, /proj are pinned to work/);
    // Under the deprecated name pool.dedicated (still read) the session pins it too.
    const old = `${two.replace(/^dedicated:\n(.*\n)*?(?=\S|$)/m, "")}pool:\n  dedicated:\n    - { name: x, project: /p, account: work }\n`;
    assert.equal(valid(old).dedicated[0]!.account, "work");
    assert.match((removeAccountText(old, "work") as { message: string }).message, /x are pinned to work/);
  });
});

describe("adding a dedicated session (init on an existing config)", () => {
  it("appends to the top-level dedicated list", () => {
    const r = addDedicatedText(first, { name: "two", project: "/home/u/two" });
    assert.ok(r.ok);
    assert.deepEqual(
      valid(r.text).dedicated.map((d) => d.name),
      ["proj", "two"],
    );
    assert.doesNotMatch(r.text, /^pool:/m);
  });

  it("creates dedicated: when there is none", () => {
    const r = addDedicatedText("accounts:\n  - { name: a, home: /a }\n", { name: "two", project: "/p" });
    assert.ok(r.ok);
    assert.match(r.text, /^dedicated:\n {2}- name: two\n {4}project: \/p\n/m);
  });

  it("moves a list under the deprecated pool.dedicated to dedicated:, keeping its entries and comments", () => {
    const old = [
      "accounts:",
      "  - { name: a, home: /a }",
      "pool:",
      "  dedicated:",
      "    # my main checkout",
      "    - { name: main, project: /src/main }",
      "",
    ].join("\n");
    const r = addDedicatedText(old, { name: "two", project: "/p" });
    assert.ok(r.ok);
    const parsed = parseConfig(r.text, "c.yaml", { env: {}, home: HOME });
    assert.ok(parsed.ok, r.text);
    assert.deepEqual(parsed.warnings, [], `written in the new shape:\n${r.text}`);
    assert.deepEqual(
      parsed.config.dedicated.map((d) => d.name),
      ["main", "two"],
    );
    assert.match(r.text, /# my main checkout/);
    assert.doesNotMatch(r.text, /^pool:/m, "an emptied pool: is removed");
    const withPool = addDedicatedText(old.replace("pool:\n", "pool:\n  keep_worktrees: true\n"), {
      name: "two",
      project: "/p",
    });
    assert.ok(withPool.ok);
    assert.match(withPool.text, /^pool:\n {2}keep_worktrees: true\n/m);
  });

  it("refuses a file that has both dedicated: and pool.dedicated", () => {
    const both = `${first}pool:\n  dedicated: []\n`;
    assert.match(
      (addDedicatedText(both, { name: "x", project: "/x" }) as { message: string }).message,
      /both dedicated/,
    );
  });
});
