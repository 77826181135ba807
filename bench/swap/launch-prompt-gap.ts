// Probe: does a swapped CLI take its launch prompt (`claude --resume <id> -- <note>`) later after its
// SessionStart hook than a bare one, and if so, is it our --settings (hooks, status line) or something else
// of the swap? With the REAL CLI (the matrix version: pinned, or CF_TEST_CLI=latest) against the stand-in API,
// one run alternates `--resume <id> -- <prompt>` starts under these variants (round robin, the order rotated
// each round; docs/notes/launch-prompt-gap.md):
//   min       the measuring hooks only (SessionStart, UserPromptSubmit, Stop; our hook script)
//   hooks     our settings with our seven hooks (writeHookFiles, no status line)
//   status    the measuring hooks + our status-line command (writeStatusLineFiles)
//   both      our settings exactly as the daemon writes them (seven hooks + status line)
//   fresh     the measuring hooks, every start in a new account home (a swap starts the CLI in another home)
//   none      no --settings at all (no hooks: only spawn → the turn's request at the stand-in is measured)
//   refused   the measuring hooks, resuming a conversation whose last turn was refused (429) and whose CLI
//             then got SIGTERM, as before a hard-limit swap
//   respawn   the measuring hooks, the CLI started by `respawn-pane -k` over the previous one's dead pane
//   swaplike  all of a swap at once: refused turn, SIGTERM, respawn-pane in that pane, new home, our settings
//   noprompt  `--resume <id>` without a launch prompt (what bench/swap's bare start is): spawn → SessionStart
// For each start: spawn → SessionStart, SessionStart → UserPromptSubmit (hook files' `date +%s%N`, one
// start's own two hooks), UserPromptSubmit → the turn's request at the stand-in, spawn → that request.
// Medians per variant and ratios to `min` within the run (only within-run ratios mean anything on a loaded box).
// Run: node --import tsx bench/swap/launch-prompt-gap.ts
//      (ROUNDS=8, VARIANTS=min,hooks,status,both,fresh,none,refused,respawn,swaplike,noprompt; needs tmux)
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { startStandInApi } from "../../test/support/stand-in-api.js";
import { claudeBinary, cliEnv, makeAccountHome, removeDir } from "../../test/support/real-cli.js";
import { waitFor } from "../../test/support/wait.js";
import { HOOK_SCRIPT, HOOK_TIMEOUT_S, writeHookFiles } from "../../src/sessions/hook-script.js";
import { DEFAULT_CONTINUE_NOTE } from "../../src/config/schema.js";
import { writeStatusLineFiles } from "../../src/claude/status-line-files.js";
import { processEnded, processStart } from "../../src/sessions/swap-process-exit.js";
import { machine, median, quantile } from "../scale-report.js";

const ROUNDS = Number(process.env.ROUNDS ?? 8);
type Variant =
  "min" | "hooks" | "status" | "both" | "fresh" | "none" | "refused" | "respawn" | "swaplike" | "noprompt" | "note";
const VARIANTS = (
  process.env.VARIANTS ?? "min,hooks,status,both,fresh,none,refused,respawn,swaplike,noprompt,note"
).split(",") as Variant[];
const TOKEN = "sk-ant-oat01-probe";
const reEscape = (s: string) => s.replace(/[.*+?^$()|[\]{}\\]/g, "\\$&");
const out = (s: string) => process.stdout.write(`${s}\n`);

const root = mkdtempSync(join(tmpdir(), "cf-gap-"));
const api = await startStandInApi();
const socket = `cf-gap-${process.pid}`;
const tmux = (...args: string[]) => {
  const r = spawnSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
  return { code: r.status ?? 1, out: r.stdout ?? "", err: r.stderr ?? "" };
};
const loads: number[] = [];
try {
  const project = join(root, "project");
  mkdirSync(project, { recursive: true });
  const shared = join(root, "shared-projects");
  let homes = 0;
  const newHome = () =>
    makeAccountHome(join(root, "homes", `h${++homes}`), {
      accessToken: TOKEN,
      projects: [project],
      sharedProjectsDir: shared,
    }).home;
  const home = newHome();

  // Settings files.
  const script = join(root, "hook.sh");
  writeFileSync(script, HOOK_SCRIPT, { mode: 0o700 });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const measuring = Object.fromEntries(
    ["SessionStart", "UserPromptSubmit", "Stop"].map((ev) => [
      ev,
      [{ hooks: [{ type: "command", command: `${q(script)} ${ev}`, timeout: HOOK_TIMEOUT_S }] }],
    ]),
  );
  const sl = writeStatusLineFiles(join(root, "statusline"));
  const settingsMin = join(root, "settings-min.json");
  writeFileSync(settingsMin, JSON.stringify({ disableAllHooks: false, hooks: measuring }));
  // The refusal that precedes a swap: the measuring hooks and StopFailure.
  const settingsPrep = join(root, "settings-prep.json");
  writeFileSync(
    settingsPrep,
    JSON.stringify({
      disableAllHooks: false,
      hooks: {
        ...measuring,
        StopFailure: [{ hooks: [{ type: "command", command: `${q(script)} StopFailure`, timeout: HOOK_TIMEOUT_S }] }],
      },
    }),
  );
  const settingsStatus = join(root, "settings-status.json");
  writeFileSync(
    settingsStatus,
    JSON.stringify({
      disableAllHooks: false,
      hooks: measuring,
      statusLine: { type: "command", command: q(sl.script), padding: 0 },
    }),
  );
  const settingsHooks = writeHookFiles({ script, settings: join(root, "settings-hooks.json") }).settings;
  const settingsBoth = writeHookFiles({ script, settings: join(root, "settings-both.json") }, sl.script).settings;
  const settingsOf: Record<Variant, string | null> = {
    min: settingsMin,
    hooks: settingsHooks,
    status: settingsStatus,
    both: settingsBoth,
    fresh: settingsMin,
    none: null,
    refused: settingsMin,
    respawn: settingsMin,
    swaplike: settingsBoth,
    noprompt: settingsMin,
    note: settingsMin,
  };
  // respawn and swaplike start their CLI as a swap does: `respawn-pane -k` in a pane kept after its
  // previous CLI ended (remain-on-exit), not in a new tmux session.
  const inPlace = (v: Variant) => v === "respawn" || v === "swaplike";

  const scrub = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"].flatMap((v) => ["-u", v]);
  let starts = 0;
  const spoolTs = (dir: string, ev: string): number | null => {
    const f = readdirSync(dir).find((n) => n.endsWith(`.${ev}.json`) && !n.startsWith("."));
    return f ? Number(f.split(".")[0]) / 1e6 : null;
  };
  /** One start: spawn → SessionStart, → UserPromptSubmit, → the turn's request; then SIGTERM and wait for the end. */
  const start = async (v: Variant, id: string, how: string[], prompt: string, refuse = false) => {
    const spool = join(root, "spool", String(++starts));
    mkdirSync(spool, { recursive: true });
    const env = {
      ...cliEnv(api.url),
      HOME: v === "fresh" || (v === "swaplike" && !refuse) ? newHome() : home,
      CLAUDE_FAILOVER_SPOOL: spool,
      CLAUDE_FAILOVER_SESSION: "probe",
      CLAUDE_FAILOVER_ACCOUNT: "a",
    };
    const settings = refuse ? settingsPrep : settingsOf[v];
    const from = api.requests.length;
    const t0 = Date.now();
    const sess = inPlace(v) ? "resp" : "probe";
    const reuse = inPlace(v) && tmux("has-session", "-t", "=resp").code === 0;
    const r = tmux(
      ...(reuse ? ["respawn-pane", "-k", "-t", "=resp:"] : ["new-session", "-d", "-s", sess, "-x", "200", "-y", "50"]),
      "-c",
      project,
      "--",
      "env",
      ...scrub,
      ...Object.entries(env).map(([k, val]) => `${k}=${val}`),
      claudeBinary(),
      ...(settings ? ["--settings", settings] : []),
      ...how,
      ...(v === "noprompt" ? [] : ["--", prompt]),
    );
    if (r.code !== 0) throw new Error(`tmux new-session/respawn-pane failed: ${r.err}`);
    tmux("set-option", "-w", "-t", `=${sess}:`, "remain-on-exit", "on");
    if (refuse) {
      // As before a swap: the turn is refused (429), the CLI records the refusal, then gets SIGTERM.
      const before = refusals(id);
      await waitFor(() => spoolTs(spool, "StopFailure"), 60_000, "StopFailure");
      await waitFor(() => refusals(id) > before, 30_000, "refusal in the transcript");
      await end(sess);
      return null;
    }
    if (v === "noprompt") {
      // No launch prompt: spawn → SessionStart only (what bench/swap compares the swap with), then end it
      // once its input box is drawn.
      const ss = await waitFor(() => spoolTs(spool, "SessionStart"), 30_000, "SessionStart");
      await waitFor(() => /❯\u00a0/.test(tmux("capture-pane", "-p", "-t", `=${sess}:`).out), 30_000, "prompt box");
      await end(sess);
      return { spawnToRequest: NaN, spawnToStart: ss - t0, startToSubmit: NaN, submitToRequest: NaN };
    }
    const req = await api
      .waitForRequest((x) => x.isTurn && x.userText.includes(prompt), 60_000, from)
      .catch((e: unknown) => {
        out(tmux("capture-pane", "-p", "-t", `=${sess}:`).out);
        throw e;
      });
    const res = { spawnToRequest: req.time - t0, spawnToStart: NaN, startToSubmit: NaN, submitToRequest: NaN };
    if (settings) {
      const ss = await waitFor(() => spoolTs(spool, "SessionStart"), 30_000, "SessionStart");
      const ups = await waitFor(() => spoolTs(spool, "UserPromptSubmit"), 30_000, "UserPromptSubmit");
      await waitFor(() => spoolTs(spool, "Stop"), 60_000, "Stop");
      Object.assign(res, { spawnToStart: ss - t0, startToSubmit: ups - ss, submitToRequest: req.time - ups });
    }
    // The answer's transcript line lags the Stop hook (up to 0.7 s): end the CLI only once it is written.
    await waitFor(() => answered(id, prompt), 30_000, "answer in the transcript");
    await end(sess);
    return res;
  };
  /** SIGTERM to the CLI, wait for its process's end; the probe's tmux session goes, the respawn one stays. */
  const end = async (sess: string) => {
    const pid = Number(tmux("list-panes", "-t", `=${sess}:`, "-F", "#{pane_pid}").out.trim());
    const st = processStart(pid);
    process.kill(pid, "SIGTERM");
    if (st !== null) await waitFor(() => processEnded(pid, st), 30_000, "CLI ended", 5);
    if (sess === "resp") return;
    tmux("kill-session", "-t", "=probe");
    await waitFor(() => tmux("has-session", "-t", "=probe").code !== 0, 30_000, "session gone");
  };

  // A session that outlives each probe's, so the tmux server never exits between starts (a new-session racing
  // the server's own exit fails).
  tmux("new-session", "-d", "-s", "keep", "--", "sleep", "3600");
  const id = randomUUID();
  const transcript = (conv: string) =>
    readdirSync(shared)
      .map((d) => {
        try {
          return readFileSync(join(shared, d, `${conv}.jsonl`), "utf8");
        } catch {
          return "";
        }
      })
      .join("");
  // The stand-in answers "ANSWER: <the user message>"; after a refusal that message is "<refused>\n<prompt>".
  const answered = (conv: string, prompt: string) =>
    new RegExp(`ANSWER: [^"]*${reEscape(prompt)}`).test(transcript(conv));
  const refusals = (conv: string) => transcript(conv).split('"isApiErrorMessage":true').length - 1;
  await start("min", id, ["--session-id", id], "probe conversation");
  // The "refused" variant's own conversation: each of its starts resumes it after a refused turn.
  const id2 = randomUUID();
  if (VARIANTS.includes("refused")) await start("min", id2, ["--session-id", id2], "probe refused conversation");
  // swaplike's: a refused turn in the pane, SIGTERM, then the CLI respawned over it with our settings in
  // another home, as a hard-limit swap does.
  const id3 = randomUUID();
  if (VARIANTS.includes("swaplike")) await start("min", id3, ["--session-id", id3], "probe swaplike conversation");
  const token = TOKEN;
  const rows: Record<
    string,
    { spawnToRequest: number; spawnToStart: number; startToSubmit: number; submitToRequest: number }[]
  > = {};
  for (let i = 0; i < ROUNDS; i++) {
    loads.push(loadavg()[0]!);
    const order = VARIANTS.map((_, k) => VARIANTS[(k + i) % VARIANTS.length]!);
    for (const v of order) {
      const conv = v === "refused" ? id2 : v === "swaplike" ? id3 : id;
      if (v === "refused" || v === "swaplike") {
        api.setCap(token, api.usedTurns(token));
        await start(v, conv, ["--resume", conv], `refused prompt ${i + 1}`, true);
        api.clearCap(token);
      }
      // note: the swap's own launch prompt (the default continue note), longer than the others.
      const text = v === "note" ? `${DEFAULT_CONTINUE_NOTE} (probe ${i + 1})` : `probe ${v} ${i + 1}`;
      const r = (await start(v, conv, ["--resume", conv], text))!;
      (rows[v] ??= []).push(r);
      out(
        `round ${i + 1} ${v.padEnd(6)}: spawn→SessionStart ${Math.round(r.spawnToStart)} ms, SessionStart→UserPromptSubmit ${Math.round(r.startToSubmit)} ms, spawn→request ${Math.round(r.spawnToRequest)} ms`,
      );
    }
  }
  loads.push(loadavg()[0]!);
  const med = (v: Variant, k: "spawnToRequest" | "spawnToStart" | "startToSubmit" | "submitToRequest") =>
    median((rows[v] ?? []).map((r) => r[k]).filter((x) => Number.isFinite(x)));
  out(
    `\nmachine: ${await machine()}; CLI ${claudeBinary()}; load average (1 min) ${quantile(loads, 0)}–${quantile(loads, 1)}`,
  );
  out(`rounds: ${ROUNDS}; medians (ms) and ratio to "min" within this run:`);
  out(`variant | spawn→SessionStart | SessionStart→UserPromptSubmit | UserPromptSubmit→request | spawn→request`);
  const base = VARIANTS.includes("min") ? "min" : VARIANTS[0]!;
  for (const v of VARIANTS) {
    const cell = (k: "spawnToRequest" | "spawnToStart" | "startToSubmit" | "submitToRequest") => {
      const m = med(v, k);
      return Number.isFinite(m) ? `${Math.round(m)} (${(m / med(base, k)).toFixed(2)})` : "–";
    };
    out(
      `${v} | ${cell("spawnToStart")} | ${cell("startToSubmit")} | ${cell("submitToRequest")} | ${cell("spawnToRequest")}`,
    );
  }
} finally {
  // tmux 3.3 leaves its socket file behind after kill-server.
  const sock = tmux("display-message", "-p", "-t", "=keep:", "#{socket_path}").out.trim();
  tmux("kill-server");
  if (sock) rmSync(sock, { force: true });
  await api.close();
  removeDir(root);
}
