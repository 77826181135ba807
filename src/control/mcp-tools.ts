// The MCP tools: thin adapters over the ControlApi facade (the same one /trigger/* uses), so a tool
// and its route can never disagree. Mutating tools pass their raw arguments on, and the facade parses
// them with the very schemas the routes use.
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Logger } from "../util/log.js";
import { CfError } from "../util/errors.js";
import { faultDetail, publicError, sanitize } from "./error-map.js";
import {
  AccountInput,
  AccountNameInput,
  EnqueueInputSchema,
  ScaleInput,
  TaskAnswerInput,
  TaskCancelInput,
  SendInput,
  CommandInput,
  SessionInput,
  SwapInput,
  type ControlApi,
} from "./control-api.js";

export interface ToolOptions {
  enableTrigger: boolean;
  /** Strings that must never appear in an answer (the bearer token). */
  secrets: string[];
  log: Logger;
  onCall?: (tool: string, outcome: "ok" | "error") => void;
}

const NoInput = z.strictObject({});
const SessionGetInput = z.strictObject({
  session: z.string().min(1).max(64).describe("tmux session name, as in sessions_list"),
  lines: z.number().int().min(1).max(500).optional().describe("how many lines of the pane to return (default 40)"),
});
const EventsTailInput = z.strictObject({
  n: z.number().int().min(1).max(1000).optional().describe("how many of the latest events (default 50)"),
  session: z.string().min(1).max(64).optional(),
  kind_prefix: z.string().min(1).max(100).optional().describe('e.g. "swap." or "hook.Stop"'),
  boxes: z
    .enum(["this", "all"])
    .optional()
    .describe('"all": every box sharing the store (store.backend postgres), each event with its box; default "this"'),
  box: z.string().min(1).max(63).optional().describe("only this box's events (implies boxes all)"),
});
const TaskGetInput = z.strictObject({ id: z.string().min(1).max(128) });
const TasksListInput = z.strictObject({ state: z.string().min(1).max(32).optional() });
const QuotaInput = z.strictObject({ account: z.string().min(1).max(32).optional() });

const READ: ToolAnnotations = { readOnlyHint: true, openWorldHint: false };
const WRITE: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, openWorldHint: false };
const DESTRUCTIVE: ToolAnnotations = { readOnlyHint: false, destructiveHint: true, openWorldHint: false };

type Spec = { description: string; input: z.ZodType; annotations: ToolAnnotations; run: (args: never) => unknown };

function readTools(api: ControlApi): Record<string, Spec> {
  return {
    sessions_list: {
      description: "All supervised sessions: state, account, last prompt, last swap (its steps: session_get).",
      input: NoInput,
      annotations: READ,
      run: () => ({ sessions: api.sessionsList().map(withoutSwapSteps) }),
    },
    session_get: {
      description: "One session: state, account, last swap, and the last N lines of its tmux pane.",
      input: SessionGetInput,
      annotations: READ,
      run: (a: z.infer<typeof SessionGetInput>) => api.sessionGet(a.session, a.lines ?? 40),
    },
    accounts_list: {
      description: "Accounts: state (active, cooldown, exhausted, ...), quota figures and their age, sessions on each.",
      input: NoInput,
      annotations: READ,
      run: () => ({ accounts: api.accountsList() }),
    },
    quota_status: {
      description: "Quota per account: state, until when, usage figures, prompts counted locally.",
      input: QuotaInput,
      annotations: READ,
      run: (a: z.infer<typeof QuotaInput>) => quotaStatus(api, a.account),
    },
    tasks_list: {
      description:
        "Tasks of the inbox and the pool, optionally only those in one state (`waiting`: a running task stopped at a permission dialog, with its question under `waiting`).",
      input: TasksListInput,
      annotations: READ,
      run: (a: z.infer<typeof TasksListInput>) => ({
        tasks: api.tasksList().filter((t) => !a.state || (t as { state?: unknown }).state === a.state),
      }),
    },
    task_get: {
      description: "One task by id.",
      input: TaskGetInput,
      annotations: READ,
      run: (a: z.infer<typeof TaskGetInput>) => api.taskGet(a.id),
    },
    schedules_list: {
      description:
        "Configured schedules (recurring pool tasks): cron, project, next run, and the last run with its task id and state.",
      input: NoInput,
      annotations: READ,
      run: () => ({ schedules: api.schedulesList() }),
    },
    events_tail: {
      description:
        "The latest events of the audit log (swaps, hooks, account states, ...), oldest first; boxes all: those of every box sharing the store, each with its box.",
      input: EventsTailInput,
      annotations: READ,
      run: async (a: z.infer<typeof EventsTailInput>) => ({
        events:
          a.boxes === "all" || a.box !== undefined
            ? await api.eventsAllBoxes(
                { n: a.n ?? 50 },
                {
                  ...(a.box !== undefined ? { box: a.box } : {}),
                  ...(a.session !== undefined ? { session: a.session } : {}),
                  ...(a.kind_prefix !== undefined ? { kindPrefix: a.kind_prefix } : {}),
                },
              )
            : api.eventsTail(a.n ?? 50, { session: a.session, kindPrefix: a.kind_prefix }),
      }),
    },
  };
}

function mutatingTools(api: ControlApi): Record<string, Spec> {
  return {
    task_enqueue: {
      description: "Queue a task (a prompt for a project) for the pool.",
      input: EnqueueInputSchema,
      annotations: WRITE,
      run: (a) => api.enqueue(a),
    },
    task_cancel: {
      description:
        "Cancel a task: a queued one is removed from the queue, a running one has its turn interrupted; either becomes `cancelled`.",
      input: TaskCancelInput,
      annotations: DESTRUCTIVE,
      run: (a) => api.taskCancel(a),
    },
    task_answer: {
      description:
        "Answer the permission dialog a `waiting` task's turn stopped at (its question is in tasks_list/task_get): yes approves that one tool call, no rejects it and the model is told to finish without it. Refused, with nothing pressed, unless that very dialog is open.",
      input: TaskAnswerInput,
      annotations: DESTRUCTIVE,
      run: (a) => api.taskAnswer(a),
    },
    session_send: {
      description: "Type a prompt, literally, into a session and press Enter; waits until the CLI has taken it.",
      input: SendInput,
      annotations: WRITE,
      run: (a) => api.send(a),
    },
    session_command: {
      description:
        "Run one allowed slash command in a session: /compact [instructions], /clear or /model NAME (prompt text never runs as a command).",
      input: CommandInput,
      annotations: WRITE,
      run: (a) => api.command(a),
    },
    session_swap: {
      description:
        "Swap a session onto another account (a given one, or the best available); urgent cuts a running turn.",
      input: SwapInput,
      annotations: DESTRUCTIVE,
      run: (a) => api.swap(a),
    },
    session_checkpoint: {
      description: "Take a checkpoint of a session now.",
      input: SessionInput,
      annotations: WRITE,
      run: (a) => api.checkpoint(a),
    },
    session_restart: {
      description: "Restart a session's CLI, resuming its conversation.",
      input: SessionInput,
      annotations: DESTRUCTIVE,
      run: (a) => api.restart(a),
    },
    account_enable: {
      description: "Enable an account: sessions may run on it again.",
      input: AccountNameInput,
      annotations: WRITE,
      run: (a) => api.enableAccount(a),
    },
    account_disable: {
      description: "Disable an account; its sessions are swapped off it.",
      input: AccountNameInput,
      annotations: WRITE,
      run: (a) => api.disableAccount(a),
    },
    pool_scale: {
      description: "Set the pool's min and/or max number of pool sessions.",
      input: ScaleInput,
      annotations: WRITE,
      run: (a) => api.scale(a),
    },
    // Old names (docs/architecture.md, Glossary): still served, each call logs a deprecation warning.
    inbox_enqueue: {
      description: "Deprecated: use task_enqueue (same input).",
      input: EnqueueInputSchema,
      annotations: WRITE,
      run: (a) => api.enqueue(a),
    },
    account_set: {
      description: "Deprecated: use account_enable or account_disable. Enable or disable an account.",
      input: AccountInput,
      annotations: WRITE,
      run: (a) => api.accountSet(a),
    },
  };
}

/** Deprecated MCP tool name → the name to use instead. */
export const DEPRECATED_TOOLS: Readonly<Record<string, string>> = {
  inbox_enqueue: "task_enqueue",
  account_set: "account_enable / account_disable",
};

export const READ_TOOLS = Object.keys(readTools({} as ControlApi));
export const MUTATING_TOOLS = Object.keys(mutatingTools({} as ControlApi));

/** Registers the read tools, and the mutating ones only when triggers are enabled. */
export function registerTools(server: McpServer, api: ControlApi, opts: ToolOptions): void {
  const specs = { ...readTools(api), ...(opts.enableTrigger ? mutatingTools(api) : {}) };
  for (const [name, spec] of Object.entries(specs)) {
    server.registerTool(
      name,
      { description: spec.description, inputSchema: spec.input, annotations: spec.annotations },
      async (args: unknown) => {
        const instead = DEPRECATED_TOOLS[name];
        if (instead) opts.log.warn({ tool: name, instead }, `MCP tool ${name} is deprecated: use ${instead}`);
        try {
          const result = await (spec.run as (a: unknown) => unknown)(args);
          opts.onCall?.(name, "ok");
          return { content: [{ type: "text", text: JSON.stringify(result ?? { ok: true }) }] } satisfies CallToolResult;
        } catch (e) {
          opts.onCall?.(name, "error");
          return toolError(name, e, opts);
        }
      },
    );
  }
}

/** A list is read by a model: the per-step log of each last swap would be a third of it. */
function withoutSwapSteps<T extends { lastSwap: { steps: unknown } | null }>(s: T) {
  if (!s.lastSwap) return s;
  const { steps: _steps, ...lastSwap } = s.lastSwap;
  return { ...s, lastSwap };
}

function quotaStatus(api: ControlApi, only?: string) {
  const accounts = api.accountsList().filter((a) => !only || a.name === only);
  if (only && !accounts.length) throw new CfError("no_such_account", `no account named ${only}`);
  return {
    now: api.now(),
    accounts: accounts.map((a) => ({
      name: a.name,
      state: a.state,
      stateUntil: a.stateUntil,
      stateReason: a.stateReason,
      usage: a.usage,
      promptsLastHour: a.promptsLastHour,
      promptsLastWeek: a.promptsLastWeek,
      sessions: a.sessions,
    })),
  };
}

/**
 * An expected failure keeps its stable code and its scrubbed message; a fault (tmux stderr, a path,
 * an exception) becomes the code's fixed text, its detail logged. The same mapping as the HTTP routes.
 */
export function toolError(tool: string, e: unknown, opts: Pick<ToolOptions, "secrets" | "log">): CallToolResult {
  const pub = publicError(e, opts.secrets);
  if (pub.internal) opts.log.error({ tool, code: pub.code, err: faultDetail(e, opts.secrets) }, "mcp tool fault");
  return { content: [{ type: "text", text: `${pub.code}: ${pub.message}` }], isError: true };
}

export { sanitize };
