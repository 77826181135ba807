// The operator's task commands: enqueue, tasks, task. They talk to the daemon over its unix socket.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { parseTaskFile } from "../inbox/task-file.js";
import { errorMessage } from "../util/errors.js";
import { errorText, localCall, operatorToken, type ClientResponse } from "../ops/control-client.js";
import { ago, table } from "./format.js";
import { ExitError, loadCliConfig } from "../ops/cli-config.js";
import type { CliIo } from "./io.js";

type Obj = Record<string, unknown>;

interface EnqueueOpts {
  project?: string;
  priority?: string;
  account?: string;
  model?: string;
  id?: string;
  worktree?: boolean;
  timeout?: string;
  box?: string;
  json?: boolean;
}

export function registerTaskCommands(program: Command, io: CliIo, cfgFlag: () => string | undefined): void {
  program
    .command("enqueue")
    .argument("<file>", "task file (Markdown, optional front matter), or - for stdin")
    .description("queue a task for the pool")
    .option("--project <dir>", "project directory (default: the file's front matter, else pool.project)")
    .option("--priority <n>", "higher runs first (default 0)")
    .option("--account <name>", "preferred account")
    .option("--model <name>", "model for the session that runs it")
    .option("--id <id>", "task id (enqueueing the same id twice queues it once)")
    .option("--worktree", "run it in a new git worktree of the project (branch <worktree_prefix>/<id>)")
    .option("--timeout <duration>", "interrupt it (timed_out) if still running after this, e.g. 30m")
    .option("--box <name>", "only this box runs it (store.backend: postgres; a box not seen yet is accepted)")
    .option("--json", "print JSON")
    .action(async (file: string, o: EnqueueOpts) => {
      const body = enqueueBody(file === "-" ? readFileSync(0) : readFile(file), o);
      const r = await call(io, cfgFlag(), "POST", "/trigger/enqueue", body);
      const t = r.body as Obj;
      io.out(
        o.json
          ? `${JSON.stringify(t, null, 2)}\n`
          : `${t.duplicate ? "already queued" : "queued"}: ${String(t.id)} (${String(t.state)})\n`,
      );
    });

  program
    .command("tasks")
    .description("tasks of the inbox: queued, running, and the latest finished")
    .option("--json", "print JSON")
    .option(
      "--state <state>",
      "only tasks in this state (queued, running, waiting, done, failed, timed_out, cancelled)",
    )
    .action(async (o: { json?: boolean; state?: string }) => {
      const r = await call(io, cfgFlag(), "GET", "/tasks");
      const rows = (r.body as Obj[]).filter((t) => !o.state || t.state === o.state);
      io.out(o.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatTasks(rows)}\n`);
    });

  program
    .command("task")
    .argument("<id>", "task id, or the name of the file it came from; or `cancel`, `answer`")
    .argument("[target]", "with `cancel` or `answer`: the task")
    .argument("[answer]", "with `answer`: yes or no")
    .description(
      "one task: state, session, account, attempts, result; `task cancel ID` cancels a queued task or interrupts a running one; " +
        "`task answer ID yes|no` answers the permission dialog a waiting task stopped at",
    )
    .option("--json", "print JSON")
    .option(
      "--since <ms>",
      "with `answer`: the wait you saw (its `since`, as tasks prints it); another wait is refused",
    )
    .action(
      async (
        id: string,
        target: string | undefined,
        answer: string | undefined,
        o: { json?: boolean; since?: string },
      ) => {
        if (target !== undefined) {
          if (id === "answer") {
            if (answer !== "yes" && answer !== "no")
              throw new ExitError(
                2,
                `task answer: the answer must be yes or no, got ${JSON.stringify(answer ?? "")} (usage: task answer ID yes|no)`,
              );
            const since = o.since === undefined ? undefined : Number(o.since);
            if (since !== undefined && !(Number.isInteger(since) && since >= 0))
              throw new ExitError(
                2,
                `task answer: --since must be the wait's start in ms, as tasks prints it, got ${JSON.stringify(o.since)}`,
              );
            const r = await call(io, cfgFlag(), "POST", "/trigger/task-answer", {
              id: target,
              answer,
              ...(since !== undefined ? { since } : {}),
            });
            const t = r.body as Obj;
            io.out(
              o.json
                ? `${JSON.stringify(t, null, 2)}\n`
                : `answered ${answer} (${String(t.option)}): ${String(t.id)}, ${String(t.question)}\n`,
            );
            return;
          }
          if (id !== "cancel" || answer !== undefined)
            throw new ExitError(
              2,
              `task: unknown action ${JSON.stringify(id)} (usage: task ID, task cancel ID, or task answer ID yes|no)`,
            );
          const r = await call(io, cfgFlag(), "POST", "/trigger/task-cancel", { id: target });
          const t = r.body as Obj;
          io.out(o.json ? `${JSON.stringify(t, null, 2)}\n` : `cancelled: ${String(t.id)} (was ${String(t.was)})\n`);
          return;
        }
        const r = await call(io, cfgFlag(), "GET", `/task?id=${encodeURIComponent(id)}`);
        io.out(o.json ? `${JSON.stringify(r.body, null, 2)}\n` : `${formatTask(r.body as Obj)}\n`);
      },
    );
}

/** The request body: the file's front matter, with command-line options taking precedence. */
export function enqueueBody(bytes: Buffer, o: EnqueueOpts, cwd = process.cwd()): Obj {
  const parsed = parseTaskFile(bytes);
  if (!parsed.ok) throw new ExitError(2, `enqueue: ${parsed.reason}`);
  const f = parsed.value;
  const body: Obj = { ...f, prompt: f.prompt.trim() ? f.prompt : "" };
  if (o.project !== undefined) body.project = resolve(cwd, o.project);
  if (o.priority !== undefined) {
    const n = Number(o.priority);
    if (!Number.isInteger(n)) throw new ExitError(2, `enqueue: --priority must be an integer, got ${o.priority}`);
    body.priority = n;
  }
  if (o.account !== undefined) body.account = o.account;
  if (o.model !== undefined) body.model = o.model;
  if (o.id !== undefined) body.id = o.id;
  if (o.worktree) body.worktree = true;
  if (o.timeout !== undefined) body.timeout = o.timeout;
  if (o.box !== undefined) body.box = o.box;
  for (const k of Object.keys(body)) if (body[k] === null || body[k] === undefined) delete body[k];
  if (!String(body.prompt ?? "").trim()) throw new ExitError(2, "enqueue: the task has no prompt text");
  return body;
}

function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ExitError(2, `enqueue: cannot read ${path}: ${errorMessage(e)}`);
  }
}

async function call(
  io: CliIo,
  flag: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<ClientResponse> {
  const { config: c, path: configPath } = loadCliConfig(flag, io.env);
  const r = await localCall(
    c,
    method,
    path,
    body,
    method === "POST" ? operatorToken(c, io.env, configPath) : undefined,
  ).catch((e: unknown) => {
    throw new ExitError(1, `cannot reach the daemon (is it running?): ${errorMessage(e)}`);
  });
  if (r.status !== 200) throw new ExitError(1, errorText(r));
  return r;
}

export function formatTasks(rows: Obj[], now = Date.now()): string {
  if (!rows.length) return "no tasks";
  const waits = rows
    .filter((t) => t.waiting)
    .map((t) => {
      const w = t.waiting as { question?: string; since?: number };
      return `${String(t.id)} waiting since ${ago(w.since, now)} on: ${oneLine(String(w.question ?? ""), 200)}\n  answer: claude-failover task answer ${String(t.id)} yes|no --since ${String(w.since)}`;
    });
  return (
    table([
      ["ID", "STATE", "PRI", "SESSION", "ACCOUNT", "TRIES", "CREATED", "PROMPT"],
      ...rows.map((t) => [
        String(t.id),
        String(t.state),
        String(t.priority),
        String(t.session ?? "-"),
        String(t.accountUsed ?? t.account ?? "-"),
        String(t.attempts),
        ago(t.createdAt, now),
        oneLine(String(t.prompt ?? ""), 50),
      ]),
    ]) + (waits.length ? `\n\n${waits.join("\n")}` : "")
  );
}

export function formatTask(t: Obj, now = Date.now()): string {
  const when = (v: unknown) => (typeof v === "number" ? `${new Date(v).toISOString()} (${ago(v, now)})` : "-");
  const rows: [string, string][] = [
    ["id", String(t.id)],
    ["state", String(t.state)],
    ["priority", String(t.priority)],
    ["project", String(t.project)],
    ["session", String(t.session ?? "-")],
    ["account", `${String(t.accountUsed ?? "-")}${t.account ? ` (preferred ${String(t.account)})` : ""}`],
    ["model", String(t.model ?? "-")],
    ["attempts", String(t.attempts)],
    ["source", String(t.source)],
    ["created", when(t.createdAt)],
    ["started", when(t.startedAt)],
    ["submitted", when(t.submittedAt)],
    ["ended", when(t.endedAt)],
    ["result", String(t.resultPath ?? "-")],
  ];
  if (t.notBefore) rows.push(["retry at", when(t.notBefore)]);
  if (t.error) rows.push(["error", String(t.error)]);
  const wait = t.waiting as { question?: string; since?: number } | null | undefined;
  if (wait)
    rows.push([
      "waiting",
      `since ${when(wait.since)} on: ${String(wait.question ?? "")} (claude-failover task answer ${String(t.id)} yes|no --since ${String(wait.since)})`,
    ]);
  if (t.worktree)
    rows.push([
      "worktree",
      `${String(t.branch ?? "(not made yet)")}${t.workdir ? ` in ${String(t.workdir)}` : ""}${t.base ? ` from ${String(t.base)}` : ""}`,
    ]);
  if (typeof t.pinBox === "string") rows.push(["pinned to", `box ${t.pinBox} (only it runs this task)`]);
  if (typeof t.timeoutMs === "number") rows.push(["timeout", `${Math.round(t.timeoutMs / 1000)}s`]);
  const w = t.worktreeResult as
    | {
        branch?: string;
        commits?: string[];
        diffStat?: string;
        uncommitted?: string[];
        kept?: string | null;
        error?: string;
      }
    | null
    | undefined;
  if (w) {
    rows.push(["commits", String(w.commits?.length ?? 0)]);
    if (w.uncommitted?.length) rows.push(["left", `${w.uncommitted.length} uncommitted change(s), not on the branch`]);
    if (w.error) rows.push(["wt error", w.error]);
  }
  const head = rows.map(([k, v]) => `${k.padEnd(10)}${v}`).join("\n");
  const stat = w?.diffStat ? `\n\nbranch ${String(w.branch)}:\n${(w.commits ?? []).join("\n")}\n${w.diffStat}` : "";
  return `${head}\n\nprompt:\n${String(t.prompt ?? "")}${typeof t.result === "string" ? `\n\nresult:\n${t.result}` : ""}${stat}`;
}

function oneLine(s: string, n: number): string {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
}
