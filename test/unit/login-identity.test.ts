// When two homes hold the same login (they would log each other out): table of identity pairs.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { duplicateLogins, readIdentity, sameLogin, type LoginIdentity } from "../../src/ops/identity.js";

const id = (over: Partial<LoginIdentity>): LoginIdentity => ({
  account: "x",
  home: "/h",
  accountUuid: null,
  organizationUuid: null,
  email: null,
  refreshToken: null,
  ...over,
});

describe("same login", () => {
  const cases: [string, Partial<LoginIdentity>, Partial<LoginIdentity>, RegExp | null][] = [
    ["same refresh token (copied file)", { refreshToken: "r1" }, { refreshToken: "r1" }, /same refresh token/],
    [
      "same refresh token wins over differing orgs",
      { refreshToken: "r1", organizationUuid: "o1" },
      { refreshToken: "r1", organizationUuid: "o2" },
      /same refresh token/,
    ],
    ["same account uuid", { accountUuid: "u1" }, { accountUuid: "u1" }, /same account \(u1\)/],
    [
      "same account uuid and org",
      { accountUuid: "u1", organizationUuid: "o1" },
      { accountUuid: "u1", organizationUuid: "o1" },
      /same account/,
    ],
    [
      "same account in two organizations: two subscriptions",
      { accountUuid: "u1", organizationUuid: "o1" },
      { accountUuid: "u1", organizationUuid: "o2" },
      null,
    ],
    [
      "different account uuids, same email",
      { accountUuid: "u1", email: "a@x" },
      { accountUuid: "u2", email: "a@x" },
      null,
    ],
    ["same email, no uuids", { email: "a@x" }, { email: "a@x" }, /same account \(a@x\)/],
    ["different emails", { email: "a@x" }, { email: "b@x" }, null],
    ["nothing known", {}, {}, null],
    ["different refresh tokens only", { refreshToken: "r1" }, { refreshToken: "r2" }, null],
  ];
  for (const [name, a, b, want] of cases) {
    it(name, () => {
      const got = sameLogin(id(a), id(b));
      if (want === null) assert.equal(got, null);
      else assert.match(got ?? "", want);
    });
  }

  it("reads identity from .claude.json oauthAccount and the credentials file; pairs every duplicate", () => {
    const root = mkdtempSync(join(tmpdir(), "cf-ident-"));
    try {
      const home = (n: string, email: string, refresh: string) => {
        const h = join(root, n);
        mkdirSync(join(h, ".claude"), { recursive: true });
        writeFileSync(
          join(h, ".claude", ".credentials.json"),
          JSON.stringify({ claudeAiOauth: { accessToken: "t", refreshToken: refresh } }),
        );
        writeFileSync(join(h, ".claude.json"), JSON.stringify({ oauthAccount: { emailAddress: email } }));
        return readIdentity(n, h);
      };
      const ids = [
        home("a", "One@x", "r1"),
        home("b", "two@x", "r2"),
        home("c", "one@x", "r3"),
        home("d", "four@x", "r2"),
      ];
      assert.equal(ids[0]!.email, "one@x");
      assert.equal(ids[0]!.refreshToken, "r1");
      assert.deepEqual(
        duplicateLogins(ids).map((d) => `${d.a}-${d.b}`),
        ["a-c", "b-d"],
      );
      assert.deepEqual(
        readIdentity("none", join(root, "missing")),
        id({ account: "none", home: join(root, "missing") }),
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
