// Benchmark: what a hard-limit swap costs beyond a bare `claude --resume`, with the REAL CLI (the matrix
// version: pinned, or CF_TEST_CLI=latest) against the stand-in API, in one run.
//   swap: StopFailure hook (its spool file's timestamp) → the resent prompt's UserPromptSubmit hook on
//         the new account (same clock: both are `date +%s%N` in the hook script);
//   bare: `tmux new-session … claude --resume <id>` spawned → its SessionStart hook fired; and, like for
//         like with the swap's carried note, `claude --resume <id> -- <prompt>` spawned → its UserPromptSubmit.
// The difference is what the daemon adds (target: at most 250 ms, issue 13). Also prints the limit
// reactor's part (StopFailure → swap started), each swap step, swap started → old CLI gone, a bare SIGTERM's
// signal → process exited and → tmux pane dead (what the swap waits for now, and did before), SessionStart → the resend's
// UserPromptSubmit, and the hook-to-state latency (hook file written → the store row updated and the signal raised).
// Run: node --import tsx bench/swap/swap-overhead.ts   (SWAPS=7; needs tmux)
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { makeHarness } from "../../test/support/harness.js";
import { cliEnv, claudeBinary, readSpool, writeHookSettings } from "../../test/support/real-cli.js";
import { waitFor } from "../../test/support/wait.js";
import type { SessionSignal } from "../../src/sessions/signals.js";
import { processEnded, processStart } from "../../src/sessions/swap-process-exit.js";
import { machine, median, quantile } from "../scale-report.js";

const SWAPS = Number(process.env.SWAPS ?? 7);
// One account more than the swaps need, never reached by them: the bare CLI's own home and token.
const h = await makeHarness({ accounts: Math.min(10, SWAPS + 2) });
const signals: { s: SessionSignal; seenAt: number }[] = [];
const out = (s: string) => process.stdout.write(`${s}\n`);
try {
  const d = await h.start();
  d.sessions.onSignal((s) => signals.push({ s, seenAt: Date.now() }));
  await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "dev idle");
  const pane = () => h.tmux("capture-pane", "-p", "-t", "=dev:").out;
  const type = async (text: string) => {
    h.tmux("send-keys", "-t", "=dev:", "-l", "--", text);
    await waitFor(() => pane().includes(text), 20_000, "typed text shown");
    h.tmux("send-keys", "-t", "=dev:", "Enter");
  };
  await type("bench warm-up");
  await waitFor(() => d.sessions.get("dev")?.lastPromptAnswered, 60_000, "warm-up answered");

  // A conversation of its own for the bare resumes, in the same project, under account a's home.
  const project = d.sessions.get("dev")!.project;
  const home = d.loadedConfig().accounts.at(-1)!.home;
  const spool = join(h.root, "bare-spool");
  const settings = writeHookSettings(join(h.root, "bare-hooks"), spool, ["SessionStart", "UserPromptSubmit", "Stop"]);
  const bareId = randomUUID();
  const scrub = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"].flatMap((v) => ["-u", v]);
  const envArgs = [...scrub, ...Object.entries({ ...cliEnv(h.api.url), HOME: home }).map(([k, v]) => `${k}=${v}`)];
  const bare = (how: string[]) =>
    h.tmux(
      "new-session",
      "-d",
      "-s",
      "bare",
      "-x",
      "200",
      "-y",
      "50",
      "-c",
      project,
      "--",
      "env",
      ...envArgs,
      claudeBinary(),
      "--settings",
      settings,
      ...how,
    );
  const bareGone = () => waitFor(() => h.tmux("has-session", "-t", "=bare").code !== 0, 30_000, "bare CLI exited");
  const barePane = () => h.tmux("capture-pane", "-p", "-t", "=bare:").out;
  const bareExit = async (): Promise<number> => {
    await waitFor(() => /❯\u00a0/.test(barePane()), 30_000, "bare prompt");
    h.tmux("send-keys", "-t", "=bare:", "-l", "/exit");
    await waitFor(() => barePane().includes("❯\u00a0/exit"), 10_000, "/exit typed");
    const t = Date.now();
    h.tmux("send-keys", "-t", "=bare:", "Enter");
    await bareGone();
    return Date.now() - t;
  };
  // SIGTERM to the idle bare CLI, as the swap does: signal → process exited (/proc: zombie or gone, what the swap
  // now waits for) and → tmux marks the pane dead (what it waited for before), both in one loop.
  const bareTerm = async (): Promise<{ proc: number; pane: number }> => {
    h.tmux("set-option", "-w", "-t", "=bare:", "remain-on-exit", "on");
    const pid = Number(h.tmux("list-panes", "-t", "=bare:", "-F", "#{pane_pid}").out.trim());
    const start = processStart(pid);
    if (start === null) throw new Error("bare CLI's /proc entry not readable");
    const t = performance.now();
    process.kill(pid, "SIGTERM");
    let proc = 0;
    let dead = 0;
    while (!proc || !dead) {
      if (!proc && processEnded(pid, start)) proc = performance.now() - t;
      if (!dead && h.tmux("list-panes", "-t", "=bare:", "-F", "#{pane_dead}").out.trim() === "1")
        dead = performance.now() - t;
      if (performance.now() - t > 30_000) throw new Error("bare CLI did not end after SIGTERM");
      await new Promise((r) => setTimeout(r, 2));
    }
    h.tmux("kill-session", "-t", "=bare");
    await bareGone();
    return { proc: Math.round(proc), pane: Math.round(dead) };
  };
  // Typed as the daemon's prompt sender does (literal keys, wait for the input box, Enter): start → hook.
  const barePrompt = async (text: string): Promise<number> => {
    const t = Date.now();
    h.tmux("send-keys", "-t", "=bare:", "-l", "--", text);
    await waitFor(() => barePane().includes(`❯\u00a0${text}`), 10_000, "bare prompt typed", 25);
    h.tmux("send-keys", "-t", "=bare:", "Enter");
    const ups = await waitFor(
      () => readSpool(spool).find((e) => e.hook_event_name === "UserPromptSubmit" && e.payload.prompt === text),
      30_000,
      "bare prompt submitted",
    );
    await waitFor(
      () =>
        readSpool(spool).some(
          (e) => e.hook_event_name === "Stop" && Number(e.file.split("-")[0]) >= Number(ups.file.split("-")[0]),
        ),
      30_000,
      "bare prompt answered",
    );
    return Number(ups.file.split("-")[0]) / 1e6 - t;
  };
  bare(["--session-id", bareId]);
  await waitFor(() => /❯\u00a0/.test(h.tmux("capture-pane", "-p", "-t", "=bare:").out), 60_000, "bare CLI ready");
  h.tmux("send-keys", "-t", "=bare:", "-l", "bare conversation");
  await waitFor(
    () => h.tmux("capture-pane", "-p", "-t", "=bare:").out.includes("bare conversation"),
    10_000,
    "bare typed",
  );
  h.tmux("send-keys", "-t", "=bare:", "Enter");
  await waitFor(() => readSpool(spool).some((e) => e.hook_event_name === "Stop"), 60_000, "bare answered");
  await bareExit();

  const bareMs: number[] = [];
  const exitMs: number[] = [];
  const promptMs: number[] = [];
  const swapMs: number[] = [];
  const carriedMs: number[] = [];
  const carriedGapMs: number[] = [];
  const preMs: number[] = [];
  const gapMs: number[] = [];
  const goneMs: number[] = [];
  const termProcMs: number[] = [];
  const termPaneMs: number[] = [];
  const steps = new Map<string, number[]>();
  for (let i = 1; i <= SWAPS; i++) {
    const t0 = Date.now();
    bare(["--resume", bareId]);
    const start = await waitFor(
      () =>
        readSpool(spool).find((e) => e.hook_event_name === "SessionStart" && Number(e.file.split("-")[0]) / 1e6 >= t0),
      60_000,
      "bare SessionStart",
    );
    bareMs.push(Number(start.file.split("-")[0]) / 1e6 - t0);
    promptMs.push(await barePrompt(`bare prompt ${i}`));
    exitMs.push(await bareExit());
    // Like for like with the swap's carried note: a bare `--resume <id> -- <prompt>` spawned → its UserPromptSubmit.
    const t1 = Date.now();
    const carried = `bare carried ${i}`;
    bare(["--resume", bareId, "--", carried]);
    const cups = await waitFor(
      () => readSpool(spool).find((e) => e.hook_event_name === "UserPromptSubmit" && e.payload.prompt === carried),
      60_000,
      "bare carried prompt submitted",
    );
    carriedMs.push(Number(cups.file.split("-")[0]) / 1e6 - t1);
    // The same start's own SessionStart → UserPromptSubmit, like for like with the swap's "resent" step
    // (docs/notes/launch-prompt-gap.md: not the difference of two starts' medians).
    const cstart = readSpool(spool).find(
      (e) => e.hook_event_name === "SessionStart" && Number(e.file.split("-")[0]) / 1e6 >= t1,
    );
    if (cstart) carriedGapMs.push((Number(cups.file.split("-")[0]) - Number(cstart.file.split("-")[0])) / 1e6);
    await waitFor(
      () =>
        readSpool(spool).some(
          (e) => e.hook_event_name === "Stop" && Number(e.file.split("-")[0]) >= Number(cups.file.split("-")[0]),
        ),
      30_000,
      "bare carried answered",
    );
    const term = await bareTerm();
    termProcMs.push(term.proc);
    termPaneMs.push(term.pane);

    const from = d.sessions.get("dev")!.account!;
    const token = h.accountTokens[from]!;
    h.api.setCap(token, h.api.usedTurns(token));
    const prompt = `bench swap ${i}`;
    const swapsBefore = d.store.listSwaps(100).length;
    await type(prompt);
    await waitFor(
      () => d.store.listSwaps(100).length > swapsBefore && d.store.lastSwap("dev")?.outcome === "ok",
      120_000,
      `swap ${i}`,
    );
    const sw = d.store.lastSwap("dev")!;
    // The resend is the continue note after the refused prompt (the model reads the prompt once), or the prompt.
    const failed = await waitFor(
      () => signals.find((x) => x.s.signal.kind === "turn_failed" && x.s.ts >= t0),
      10_000,
      "StopFailure seen",
    );
    const resent = await waitFor(
      () =>
        signals.find(
          (x) => x.s.signal.kind === "prompt_submitted" && x.s.signal.account === sw.toAccount && x.s.ts >= failed.s.ts,
        ),
      30_000,
      "resent prompt submitted",
    );
    swapMs.push(resent.s.ts - failed.s.ts);
    preMs.push(sw.startedAt - failed.s.ts);
    const newStart = signals.find(
      (x) => x.s.signal.kind === "session_start" && x.s.ts >= failed.s.ts && x.s.ts <= resent.s.ts,
    );
    if (newStart) gapMs.push(resent.s.ts - newStart.s.ts);
    for (const st of sw.steps) steps.set(st.step, [...(steps.get(st.step) ?? []), st.ms]);
    const exited = sw.steps.find((st) => st.step === "exited");
    if (exited) goneMs.push(exited.at - sw.startedAt);
    await waitFor(
      () => d.sessions.get("dev")?.lastPromptAnswered && d.sessions.get("dev")?.state === "idle",
      60_000,
      "resent prompt answered",
    );
    out(
      `swap ${i}: ${from} → ${sw.toAccount}: StopFailure → resent UserPromptSubmit ${swapMs.at(-1)} ms; bare resume start ${Math.round(bareMs.at(-1)!)} ms`,
    );
  }
  const lat = signals.map((x) => x.seenAt - x.s.ts);
  const mb = median(bareMs);
  const ms = median(swapMs);
  out(`\nmachine: ${await machine()}`);
  out(`swaps: ${SWAPS} (real CLI ${claudeBinary()})`);
  out(
    `StopFailure → resent prompt accepted on the new account: median ${ms} ms (min ${quantile(swapMs, 0)}, max ${quantile(swapMs, 1)})`,
  );
  out(
    `bare claude --resume start (spawn → SessionStart):        median ${mb} ms (min ${quantile(bareMs, 0)}, max ${quantile(bareMs, 1)})`,
  );
  out(
    `daemon's addition (difference of medians):               ${Math.round(ms - mb)} ms; ratio ${(ms / mb).toFixed(2)}`,
  );
  const manual = median(exitMs) + mb + median(promptMs);
  out(
    `bare /exit (Enter → process gone) median ${median(exitMs)} ms; bare prompt (typed → UserPromptSubmit) median ${median(promptMs)} ms`,
  );
  out(
    `the same by hand (/exit + resume start + prompt): ${Math.round(manual)} ms; the daemon beyond that: ${Math.round(ms - manual)} ms`,
  );
  out(
    `bare --resume <id> -- <prompt> (spawn → its UserPromptSubmit): median ${median(carriedMs)} ms; the swap beyond it: ${Math.round(ms - median(carriedMs))} ms`,
  );
  out(`StopFailure → swap started (the limit reactor's own-failure check): median ${median(preMs)} ms`);
  out(`swap steps (median ms): ${[...steps].map(([k, v]) => `${k} ${median(v)}`).join(", ")}`);
  out(
    `bare SIGTERM of an idle CLI: process exited median ${median(termProcMs)} ms, tmux pane dead median ${median(termPaneMs)} ms after the signal`,
  );
  out(`swap started → old CLI gone (locked + checkpointed + turn_ended + exited): median ${median(goneMs)} ms`);
  out(
    `new CLI's SessionStart → the resend's UserPromptSubmit: median ${median(gapMs)} ms; a bare start carrying a prompt, its SessionStart → its UserPromptSubmit: median ${median(carriedGapMs)} ms`,
  );
  out(
    `hook-to-state latency (hook file → row updated, ${lat.length} events): median ${median(lat)} ms, p95 ${quantile(lat, 0.95)} ms, max ${quantile(lat, 1)} ms`,
  );
} finally {
  await h.cleanup();
}
