// `accounts add` then a login (a prepared credentials file) gives a second usable account, the config's
// comments kept; `accounts remove` takes the first away once its session moved (issue 12, point 3).
// A daemon process (SIGHUP reloads it), the real CLI, the stand-in API.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fakeCredentials, makeHarness } from "../support/harness.js";
import { waitFor } from "../support/wait.js";

interface Acct {
  name: string;
  state: string;
  sessions: string[];
}
interface Sess {
  name: string;
  state: string;
  account: string | null;
}

test(
  "accounts add + login → a second usable account (comments kept); accounts remove after its session moved",
  { timeout: 240_000 },
  async (t) => {
    const h = await makeHarness({ accounts: 1 });
    t.after(() => h.cleanup());
    await h.spawnDaemon();
    const json = async <T>(...args: string[]): Promise<T> => {
      const r = await h.cli(...args, "--json");
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out) as T;
    };
    const status = () => json<{ sessions: Sess[] }>("status");
    await waitFor(
      async () => (await status()).sessions.find((s) => s.name === "dev" && s.state === "idle" && s.account === "a"),
      90_000,
      "dev idle on a",
      500,
    );

    // A comment of the user's, which the edits must keep.
    writeFileSync(h.configPath, `# my own note: keep me\n${readFileSync(h.configPath, "utf8")}`);
    const homeB = join(h.root, "homes", "b");
    const add = await h.cli("accounts", "add", "b", "--home", homeB, "--no-login");
    assert.equal(add.code, 0, add.err);
    assert.match(add.out, /added account b \(home .*homes\/b, priority \d+\)/);
    assert.match(add.out, /reloaded the daemon \(pid \d+\)/);
    assert.match(add.out, /not logged in yet: claude-failover login b/);
    assert.match(readFileSync(h.configPath, "utf8"), /^# my own note: keep me\n/);
    await waitFor(
      async () => (await json<Acct[]>("accounts")).find((a) => a.name === "b"),
      10_000,
      "b known to the daemon",
      200,
    );

    // The login: what `claude-failover login b` leaves behind.
    const tokenB = "sk-ant-oat01-b-accounts-add";
    h.api.setCap(tokenB, 100_000);
    mkdirSync(join(homeB, ".claude"), { recursive: true });
    writeFileSync(join(homeB, ".claude", ".credentials.json"), fakeCredentials(tokenB), { mode: 0o600 });
    await waitFor(
      async () => (await json<Acct[]>("accounts")).find((a) => a.name === "b" && a.state === "active"),
      30_000,
      "b active",
      500,
    );

    const rm = await h.cli("accounts", "remove", "a");
    assert.equal(rm.code, 0, `${rm.out}\n${rm.err}`);
    assert.match(
      rm.out,
      /disabled a and reloaded the daemon .*waiting for its sessions to move\nremoved account a from /,
    );
    const text = readFileSync(h.configPath, "utf8");
    assert.match(text, /^# my own note: keep me\n/);
    assert.doesNotMatch(text, /name: a\n/);
    const after = await waitFor(
      async () => {
        const s = (await status()).sessions.find((x) => x.name === "dev");
        return s?.account === "b" && s.state === "idle" ? s : undefined;
      },
      60_000,
      "dev idle on b",
      500,
    );
    assert.equal(after.account, "b");
    await waitFor(
      async () => !(await json<Acct[]>("accounts")).some((a) => a.name === "a"),
      10_000,
      "a gone from the daemon",
      200,
    );
  },
);
