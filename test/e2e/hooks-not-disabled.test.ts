// Issue 13 point 5: a project's or user's `"disableAllHooks": true` must not silence our hooks. The real CLI
// (the version under test, CF_TEST_CLI), in tmux, against the stand-in API, launched with the daemon's own
// --settings file (writeHookFiles, which sets `"disableAllHooks": false`), in a project whose
// .claude/settings.local.json and .claude/settings.json and an account home whose ~/.claude/settings.json all
// say `"disableAllHooks": true`: SessionStart, UserPromptSubmit and Stop are still spooled. The control run
// (the same file without our `false`) shows that those files do silence hooks otherwise, so the test can
// fail. Findings: docs/notes/hooks-settings.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { writeHookFiles } from "../../src/sessions/hook-script.js";
import { startStandInApi, type StandInApi } from "../support/stand-in-api.js";
import { claudeBinary, cliEnv, makeAccountHome, removeDir, tmuxServer, type TmuxServer } from "../support/real-cli.js";
import { waitFor } from "../support/wait.js";
import { stateLayout } from "../../src/config/paths.js";

const START_TIMEOUT = 60_000;
const TURN_TIMEOUT = 30_000;

function spooled(spool: string): string[] {
  return readdirSync(spool)
    .filter((n) => n.endsWith(".json"))
    .map((n) =>
      n
        .replace(/\.json$/, "")
        .split(".")
        .pop()!,
    );
}

/** Starts the CLI with `settingsFile` in a project and home that disable all hooks, submits one prompt, waits for its answer on screen. */
async function runCli(
  tm: TmuxServer,
  api: StandInApi,
  root: string,
  label: string,
  settingsFile: string,
  spool: string,
): Promise<void> {
  const project = join(root, `project-${label}`);
  mkdirSync(join(project, ".claude"), { recursive: true });
  writeFileSync(join(project, ".claude", "settings.local.json"), JSON.stringify({ disableAllHooks: true }));
  writeFileSync(join(project, ".claude", "settings.json"), JSON.stringify({ disableAllHooks: true }));
  const home = makeAccountHome(join(root, `home-${label}`), {
    accessToken: `sk-ant-oat01-${randomUUID()}`,
    projects: [project],
  });
  writeFileSync(join(home.home, ".claude", "settings.json"), JSON.stringify({ disableAllHooks: true }));
  const env = {
    ...cliEnv(api.url),
    HOME: home.home,
    CLAUDE_FAILOVER_SPOOL: spool,
    CLAUDE_FAILOVER_SESSION: label,
    CLAUDE_FAILOVER_ACCOUNT: "a",
  };
  const pane = (
    await tm.run([
      "new-session",
      "-d",
      "-P",
      "-F",
      "#{pane_id}",
      "-s",
      label,
      "-x",
      "160",
      "-y",
      "50",
      "-c",
      project,
      ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
      claudeBinary(),
      "--settings",
      settingsFile,
      "--session-id",
      randomUUID(),
    ])
  ).trim();
  const screen = (pred: (s: string) => boolean, ms: number, what: string) =>
    waitFor(
      async () => {
        const s = await tm.capture(pane);
        return pred(s) ? s : undefined;
      },
      ms,
      `${label}: ${what}`,
    );
  await screen((s) => /^❯\u00a0/m.test(s), START_TIMEOUT, "idle input box");
  const prompt = `hooks check ${label}`;
  await tm.typeText(pane, prompt);
  await screen((s) => s.includes(`❯\u00a0${prompt}`), 10_000, "prompt in the input box");
  await tm.sendKeys(pane, "Enter");
  // The Stop hook runs before the CLI draws its idle input box again under the answer.
  await screen(
    (s) => s.includes(`ANSWER: ${prompt}`) && /^❯\u00a0/m.test(s.slice(s.indexOf(`ANSWER: ${prompt}`))),
    TURN_TIMEOUT,
    "answer on screen",
  );
}

test(
  "a project's and user's disableAllHooks: true do not silence the daemon's hooks (real CLI)",
  { timeout: 240_000 },
  async (t) => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), "cf-hooksoff-")));
    const api = await startStandInApi();
    const tm = tmuxServer("cf-hooksoff");
    t.after(async () => {
      await tm.kill();
      await api.close();
      removeDir(root);
    });

    const stateDir = join(root, "state");
    mkdirSync(stateDir, { recursive: true });
    const ours = writeHookFiles(stateLayout(stateDir).hookFiles);
    assert.equal(
      JSON.parse(readFileSync(ours.settings, "utf8")).disableAllHooks,
      false,
      "our settings say disableAllHooks: false",
    );
    const spoolOurs = join(root, "spool-ours");
    mkdirSync(spoolOurs);
    await runCli(tm, api, root, "ours", ours.settings, spoolOurs);
    const got = await waitFor(
      () => {
        const ev = spooled(spoolOurs);
        return ["SessionStart", "UserPromptSubmit", "Stop"].every((e) => ev.includes(e)) ? ev : undefined;
      },
      15_000,
      "SessionStart, UserPromptSubmit and Stop spooled under our settings",
    );
    t.diagnostic(`with our settings: ${got.join(", ")}`);

    // Control: the same hooks without our `false` are silenced by the project's and user's `true`.
    const control = JSON.parse(readFileSync(ours.settings, "utf8")) as Record<string, unknown>;
    delete control.disableAllHooks;
    const controlFile = join(root, "control-settings.json");
    writeFileSync(controlFile, JSON.stringify(control));
    const spoolControl = join(root, "spool-control");
    mkdirSync(spoolControl);
    await runCli(tm, api, root, "control", controlFile, spoolControl);
    assert.deepEqual(
      spooled(spoolControl),
      [],
      "without disableAllHooks: false in --settings, the project's true silences every hook",
    );
  },
);

test(
  "through the daemon: a dedicated project saying disableAllHooks: true still gets SessionStart, UserPromptSubmit and Stop (real CLI)",
  { timeout: 180_000 },
  async (t) => {
    const { makeHarness } = await import("../support/harness.js");
    const h = await makeHarness({ accounts: 1 });
    t.after(() => h.cleanup());
    const project = h.project("dev");
    mkdirSync(join(project, ".claude"), { recursive: true });
    writeFileSync(join(project, ".claude", "settings.local.json"), JSON.stringify({ disableAllHooks: true }));
    const d = await h.start();
    await waitFor(() => d.sessions.get("dev")?.state === "idle", 90_000, "dev idle: SessionStart applied");
    const r = await d.sessions.prompts.send("dev", "hooks still on?", { confirmTimeoutMs: 30_000 });
    assert.ok(r.ok, JSON.stringify(r));
    await waitFor(
      () => d.sessions.get("dev")?.lastPromptAnswered === true && d.sessions.get("dev")?.state === "idle",
      60_000,
      "Stop applied",
    );
    const kinds = new Set(d.store.tailEvents(100, { session: "dev", kindPrefix: "hook." }).map((e) => e.kind));
    for (const k of ["hook.SessionStart", "hook.UserPromptSubmit", "hook.Stop"])
      assert.ok(kinds.has(k), `${k} in ${[...kinds].join(", ")}`);
  },
);
