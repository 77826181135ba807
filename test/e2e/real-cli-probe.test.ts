// The real Claude Code CLI, interactive, in a private tmux server, against the stand-in API:
// prompt → answer + Stop hook; multi-line bracketed paste; 429 → StopFailure + dialog; /exit;
// resume of the same conversation under a second account home that shares `projects/`.
//
// Set CF_PROBE_OBSERVATIONS=<file> to dump pane texts, hook payloads and timings as JSON
// (that is how docs/notes/claude-cli-observed.md was written).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { startStandInApi, type StandInApi } from "../support/stand-in-api.js";
import {
  claudeBinary,
  cliEnv,
  makeAccountHome,
  readSpool,
  removeDir,
  tmuxServer,
  writeHookSettings,
  type SpooledHookEvent,
  type TmuxServer,
} from "../support/real-cli.js";
import { waitFor } from "../support/wait.js";

const START_TIMEOUT = 60_000;
const TURN_TIMEOUT = 30_000;

test(
  "real CLI in tmux: answer, hooks, paste, rate limit, /exit, resume under a second account",
  { timeout: 300_000 },
  async (t) => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), "cf-probe-")));
    let api: StandInApi | undefined;
    let tmux: TmuxServer | undefined;
    const obs: Record<string, unknown> = {};
    t.after(async () => {
      if (process.env.CF_PROBE_OBSERVATIONS)
        writeFileSync(process.env.CF_PROBE_OBSERVATIONS, JSON.stringify(obs, null, 2));
      await tmux?.kill();
      await api?.close();
      removeDir(root);
    });

    const project = join(root, "project");
    const shared = join(root, "shared-projects");
    const spool = join(root, "spool");
    mkdirSync(project, { recursive: true });
    const tokenA = `sk-ant-oat01-probeA-${randomUUID()}`;
    const tokenB = `sk-ant-oat01-probeB-${randomUUID()}`;
    const homeA = makeAccountHome(join(root, "homeA"), {
      accessToken: tokenA,
      projects: [project],
      sharedProjectsDir: shared,
    });
    const homeB = makeAccountHome(join(root, "homeB"), {
      accessToken: tokenB,
      projects: [project],
      sharedProjectsDir: shared,
    });
    const credA = readFileSync(homeA.credentialsPath, "utf8");
    const credAMtime = statSync(homeA.credentialsPath).mtimeMs;
    const settings = writeHookSettings(join(root, "hooks"), spool);
    const sessionId = randomUUID();

    api = await startStandInApi();
    const standIn = api;
    tmux = tmuxServer("cf-probe");
    const tm = tmux;

    const envArgs = (home: string): string[] =>
      Object.entries({ ...cliEnv(standIn.url), HOME: home }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const events = (): SpooledHookEvent[] => readSpool(spool);
    const waitEvent = (
      name: string,
      pred: (e: SpooledHookEvent) => boolean,
      timeoutMs: number,
    ): Promise<SpooledHookEvent> =>
      waitFor(() => events().find((e) => e.hook_event_name === name && pred(e)), timeoutMs, `${name} hook event`);
    let pane = "";
    const screen = (): Promise<string> => tm.capture(pane);
    const waitScreen = (pred: (s: string) => boolean, timeoutMs: number, label: string): Promise<string> =>
      waitFor(
        async () => {
          const s = await screen();
          return pred(s) ? s : undefined;
        },
        timeoutMs,
        label,
      ).catch(async (err: unknown) => {
        throw new Error(
          `${err instanceof Error ? err.message : String(err)}\n--- pane ---\n${await screen().catch(() => "?")}`,
        );
      });
    // The input box line is "❯" + U+00A0 (no-break space) + text; echoed prompts in the history
    // use "❯" + an ordinary space. The footer line below the box rotates hints/notifications, so
    // "? for shortcuts" is not a reliable idle marker.
    const inputBox = (s: string): boolean => /^❯\u00a0/m.test(s);
    const busy = (s: string): boolean => s.includes("esc to interrupt");
    const idle = (s: string): boolean => inputBox(s) && !busy(s) && !s.includes("What do you want to do?");
    /** Types a single line and presses Enter once the text shows in the input box. */
    const submit = async (text: string): Promise<void> => {
      await tm.typeText(pane, text);
      await waitScreen((s) => s.includes(`❯\u00a0${text}`), 10_000, `typed text "${text}" in the input box`);
      await tm.sendKeys(pane, "Enter");
    };

    // --- 1. launch under account A --------------------------------------------------------------
    const t0 = Date.now();
    pane = (
      await tm.run([
        "new-session",
        "-d",
        "-P",
        "-F",
        "#{pane_id}",
        "-s",
        "probe",
        "-x",
        "160",
        "-y",
        "50",
        "-c",
        project,
        ...envArgs(homeA.home),
        claudeBinary(),
        "--settings",
        settings,
        "--session-id",
        sessionId,
      ])
    ).trim();
    await tm.run(["set-option", "-t", "probe", "remain-on-exit", "on"]);
    await tm.run(["set-option", "-g", "focus-events", "on"]);
    const startA = await waitEvent("SessionStart", (e) => e.session_id === sessionId, START_TIMEOUT);
    const idleScreen = await waitScreen(idle, START_TIMEOUT, "idle prompt after start");
    obs.startupMs = Date.now() - t0; // until SessionStart was spooled and the idle input box showed
    obs.sessionStartStartup = startA.payload;
    obs.idleScreen = idleScreen;
    assert.equal(startA.payload.source, "startup");
    assert.equal(startA.payload.cwd, project);
    assert.ok(
      String(startA.payload.transcript_path).endsWith(`/${sessionId}.jsonl`),
      "transcript_path names the session id",
    );
    assert.match(idleScreen, /Claude Max/);

    // --- 2. a turn: busy screen, answer, Stop hook -------------------------------------------------
    const firstPrompt = "probe first SLOW:2500";
    await submit(firstPrompt);
    const busyScreen = await waitScreen(busy, TURN_TIMEOUT, "busy screen (esc to interrupt)");
    obs.busyScreen = busyScreen;
    const submitA = await waitEvent("UserPromptSubmit", (e) => e.payload.prompt === firstPrompt, TURN_TIMEOUT);
    obs.userPromptSubmit = submitA.payload;
    const stop1 = await waitEvent("Stop", () => true, TURN_TIMEOUT);
    obs.stop = stop1.payload;
    assert.equal(stop1.payload.last_assistant_message, `ANSWER: ${firstPrompt}`);
    assert.equal(
      stop1.payload.prompt_id,
      submitA.payload.prompt_id,
      "Stop carries the prompt_id of its UserPromptSubmit",
    );
    const answered = await waitScreen(
      (s) => s.includes(`ANSWER: ${firstPrompt}`) && idle(s),
      TURN_TIMEOUT,
      "answer on screen",
    );
    obs.answeredScreen = answered;
    const turn1 = await standIn.waitForRequest((r) => r.isTurn && r.userText === firstPrompt, 5_000);
    assert.equal(turn1.token, tokenA, "the turn used account A's bearer token");
    assert.match(turn1.headers["anthropic-beta"] ?? "", /oauth-2025-04-20/);
    assert.equal(turn1.headers["x-claude-code-session-id"], sessionId);
    const title = standIn.requests.find((r) => !r.isTurn && r.path.startsWith("/v1/messages"));
    obs.sideRequests = standIn.requests
      .filter((r) => !r.isTurn)
      .map((r) => ({ method: r.method, path: r.path, userText: r.userText, output_config: r.body?.output_config }));
    assert.ok(title, "the CLI sent a side (title) request");

    // --- 2b. a scripted tool_use reply: the CLI runs the tool and sends the tool_result back ------------
    writeFileSync(join(project, "note.txt"), "note content 42\n");
    standIn.setReplier((req) => {
      const last = req.body.messages[req.body.messages.length - 1];
      const result = Array.isArray(last?.content)
        ? last.content.find((b: { type: string }) => b.type === "tool_result")
        : undefined;
      if (result) return { text: `TOOL SAID: ${JSON.stringify(result.content)}` };
      if (req.userText === "probe tool")
        return { toolUse: { name: "Read", input: { file_path: join(project, "note.txt") } } };
      return undefined;
    });
    await submit("probe tool");
    const stopTool = await waitEvent(
      "Stop",
      (e) => String(e.payload.last_assistant_message).startsWith("TOOL SAID:"),
      TURN_TIMEOUT,
    );
    assert.match(String(stopTool.payload.last_assistant_message), /note content 42/);
    standIn.setReplier(undefined);
    obs.toolScreen = await waitScreen(
      (s) => s.includes("TOOL SAID:") && idle(s),
      TURN_TIMEOUT,
      "tool answer on screen",
    );

    // --- 3. multi-line bracketed paste --------------------------------------------------------------
    // More than 2 newlines (or more than 800 chars) is collapsed into a placeholder; shorter
    // pastes are inserted inline. Either way Enter submits the whole text.
    const pasted = "paste line one\npaste line two\npaste line three\npaste line four";
    await tm.paste(pane, pasted);
    const pastedScreen = await waitScreen(
      (s) => /\[Pasted text #\d+ \+3 lines\]/.test(s),
      10_000,
      "pasted-text placeholder",
    );
    obs.pastedScreen = pastedScreen;
    await tm.sendKeys(pane, "Enter");
    const stop2 = await waitEvent(
      "Stop",
      (e) => e.payload.last_assistant_message === `ANSWER: ${pasted}`,
      TURN_TIMEOUT,
    );
    obs.stopAfterPaste = stop2.payload;
    const submitPaste = events().find((e) => e.hook_event_name === "UserPromptSubmit" && e.payload.prompt === pasted);
    assert.ok(submitPaste, "UserPromptSubmit.prompt is the full pasted text, not the placeholder");
    await waitScreen(idle, TURN_TIMEOUT, "idle after paste");

    // --- 4. rate limit: 429 → StopFailure, message, dialog -------------------------------------------
    const resetAt = Math.floor(Date.now() / 1000) + 2 * 3600;
    standIn.setCap(tokenA, standIn.usedTurns(tokenA), resetAt);
    const cappedPrompt = "probe capped";
    const before429 = standIn.requests.length;
    await submit(cappedPrompt);
    const failure = await waitEvent("StopFailure", () => true, TURN_TIMEOUT);
    obs.stopFailure = failure.payload;
    assert.equal(failure.payload.error, "rate_limit");
    assert.match(String(failure.payload.last_assistant_message), /^You've hit your session limit · resets /);
    const dialog = await waitScreen((s) => s.includes("What do you want to do?"), TURN_TIMEOUT, "rate-limit dialog");
    obs.rateLimitDialogScreen = dialog;
    assert.match(dialog, /Stop and wait for limit to reset/);
    assert.match(dialog, /You've hit your session limit · resets /);
    const rejected = standIn.requests.slice(before429).filter((r) => r.isTurn);
    obs.turnRequestsFor429 = rejected.map((r) => ({ status: r.status, userText: r.userText }));
    assert.equal(rejected.length, 1, "exactly one turn request (no retries) for the capped prompt");
    assert.equal(rejected[0]?.status, 429);
    await tm.sendKeys(pane, "Escape");
    const afterDialog = await waitScreen(
      (s) => !s.includes("What do you want to do?") && idle(s),
      10_000,
      "dialog dismissed by Escape",
    );
    obs.afterDialogScreen = afterDialog;

    // --- 5. /exit ---------------------------------------------------------------------------------
    await tm.typeText(pane, "/exit");
    await waitScreen((s) => s.includes("Exit the CLI"), 10_000, "slash-command menu showing /exit");
    await tm.sendKeys(pane, "Enter");
    const end = await waitEvent("SessionEnd", () => true, TURN_TIMEOUT);
    obs.sessionEnd = end.payload;
    // pane_dead flips when the pty closes. tmux 3.3a then normally reaps the child ("1|0|"), but in
    // about 1 run of 8 it leaves the exited CLI as a zombie and pane_dead_status stays empty ("1||").
    let paneState = "";
    await waitFor(
      async () => {
        paneState = (
          await tm.run(["display-message", "-p", "-t", pane, "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}"])
        ).trim();
        return paneState.startsWith("1|");
      },
      TURN_TIMEOUT,
      "CLI exit after /exit",
    ).catch(async (err: unknown) => {
      throw new Error(
        `${err instanceof Error ? err.message : String(err)} (pane_dead|status|signal: "${paneState}")\n--- pane ---\n${await screen().catch(() => "?")}`,
      );
    });
    await waitScreen((s) => s.includes(`claude --resume ${sessionId}`), 10_000, "resume hint after /exit");
    const exitScreen = await screen();
    obs.exitPaneState = paneState;
    assert.ok(paneState === "1|0|" || paneState === "1||", `exit status 0 (or not yet reaped), got ${paneState}`);
    obs.exitScreen = exitScreen;
    assert.match(exitScreen, new RegExp(`claude --resume ${sessionId}`));
    assert.equal(readFileSync(homeA.credentialsPath, "utf8"), credA, "the CLI did not rewrite .credentials.json");
    assert.equal(statSync(homeA.credentialsPath).mtimeMs, credAMtime);

    obs.transcriptAfterExit = readFileSync(String(startA.payload.transcript_path), "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => {
        try {
          const j = JSON.parse(l) as {
            type?: string;
            message?: { role?: string; content?: unknown };
            isApiErrorMessage?: boolean;
            subtype?: string;
          };
          return `${j.type}${j.subtype ? "/" + j.subtype : ""}${j.isApiErrorMessage ? " (api error)" : ""} ${JSON.stringify(j.message?.content ?? "").slice(0, 80)}`;
        } catch {
          return `unparsable: ${l.slice(0, 80)}`;
        }
      });

    // --- 6. resume under account B (shared projects dir) ------------------------------------------------
    const nBefore = events().length;
    const beforeResume = standIn.requests.length;
    const t1 = Date.now();
    await tm.run([
      "respawn-pane",
      "-k",
      "-t",
      pane,
      "-c",
      project,
      ...envArgs(homeB.home),
      claudeBinary(),
      "--settings",
      settings,
      "--resume",
      sessionId,
    ]);
    const startB = await waitFor(
      () =>
        events()
          .slice(nBefore)
          .find((e) => e.hook_event_name === "SessionStart"),
      START_TIMEOUT,
      "SessionStart after resume",
    );
    const resumedScreen = await waitScreen(idle, START_TIMEOUT, "idle prompt after resume");
    obs.resumeStartupMs = Date.now() - t1;
    obs.sessionStartResume = startB.payload;
    obs.resumedScreen = resumedScreen;
    assert.equal(startB.payload.source, "resume");
    assert.equal(startB.session_id, sessionId);
    assert.ok(resumedScreen.includes(`ANSWER: ${firstPrompt}`), "the resumed pane shows the earlier conversation");
    const resumedPrompt = "probe after resume";
    await submit(resumedPrompt);
    // The prompt that failed with 429 stayed in the conversation. The CLI merges it with the next
    // user content: either the new prompt ("ANSWER: probe capped\nprobe after resume"), or — when the
    // /exit command lines made it into the transcript before the process ended, which varies from
    // run to run — those lines, followed by a synthetic assistant "No response requested." and
    // then the new prompt alone.
    const stop3 = await waitEvent(
      "Stop",
      (e) => String(e.payload.last_assistant_message).endsWith(resumedPrompt),
      TURN_TIMEOUT,
    );
    obs.stopAfterResume = stop3.payload;
    const turnB = await standIn.waitForRequest(
      (r) => r.isTurn && r.userText.endsWith(resumedPrompt),
      5_000,
      beforeResume,
    );
    obs.resumedTurnLastUserMessage = turnB.body.messages[turnB.body.messages.length - 1];
    obs.resumedTurnUserTexts = turnB.allUserTexts;
    obs.resumedTurnMessages = turnB.body.messages.map((m: { role: string; content: unknown }) => ({
      role: m.role,
      content: JSON.stringify(m.content).slice(0, 300),
    }));
    assert.ok(
      turnB.userText === resumedPrompt || turnB.userText === `${cappedPrompt}\n${resumedPrompt}`,
      `last user text: ${JSON.stringify(turnB.userText)}`,
    );
    assert.equal(turnB.token, tokenB, "after resume the turn uses account B's token");
    assert.ok(turnB.allUserTexts.includes(firstPrompt), "history carries the first prompt");
    assert.ok(turnB.allUserTexts.includes(pasted), "history carries the pasted prompt");
    assert.ok(
      turnB.allUserTexts.some((u) => u.includes(cappedPrompt)),
      "the prompt that hit the limit is in the history",
    );
    assert.ok(
      turnB.body.messages.some(
        (m: { role: string; content: unknown }) =>
          m.role === "assistant" && JSON.stringify(m.content).includes(`ANSWER: ${firstPrompt}`),
      ),
      "history carries the first answer",
    );
    obs.allEvents = events().map((e) => e.payload);
    obs.requests = standIn.requests.map((r) => ({
      method: r.method,
      path: r.path,
      status: r.status,
      isTurn: r.isTurn,
      token: r.token,
      userText: r.userText,
    }));
  },
);
