import type { SessionRow } from "../store/types.js";
import { classifyRateLimit, THROTTLE_REASON } from "../claude/limit-text.js";
import { type HookEvent, str } from "./hook-event.js";
import { toolSummary } from "./permission-dialog.js";
import { transition, type StateOp } from "./session-states.js";
import type { Signal } from "./signals.js";

export interface Applied {
  patch: Partial<SessionRow>;
  signals: Signal[];
}

// Pure: how one hook event changes a session. Its state moves by the `hook_*` operations of the transition
// table (session-states.ts): states the daemon owns (parked, swapping, stopped) are kept, and the swap/park
// logic moves out of them; a parked session that took a prompt works on it.
export function applyHookEvent(s: SessionRow, ev: HookEvent): Applied {
  const p = ev.payload;
  const patch: Partial<SessionRow> = { lastActivity: ev.ts };
  const signals: Signal[] = [];
  const setState = (op: StateOp, reason: string | null = null) => {
    const t = transition(s.state, op);
    if (t.ok && t.changes) {
      patch.state = t.to;
      patch.stateReason = reason;
    }
  };
  switch (ev.event) {
    case "SessionStart": {
      const id = str(p, "session_id");
      const source = str(p, "source") ?? "startup";
      if (id) {
        patch.claudeSessionId = id;
        signals.push({ kind: "session_start", source, claudeSessionId: id });
      }
      const tp = str(p, "transcript_path");
      if (tp) patch.transcriptPath = tp;
      // `/clear` starts an empty conversation: a prompt refused in the old one is not owed in it (a pool
      // session is cleared between tasks, and a refused task's prompt left here was resent by the next hard
      // swap while the dispatcher ran the task again elsewhere: chaos seed 424242, a task answered twice).
      if (source === "clear") patch.failedPrompt = null;
      patch.started = true;
      setState("hook_start");
      break;
    }
    case "UserPromptSubmit": {
      const prompt = str(p, "prompt") ?? "";
      patch.lastPrompt = prompt;
      patch.lastPromptAt = ev.ts;
      patch.lastPromptAnswered = false;
      patch.failedPrompt = null;
      signals.push({ kind: "prompt_submitted", prompt, account: ev.account });
      // A parked session whose CLI took a prompt (typed by a person in the pane, or sent through us) while it
      // waited for quota works on it now and is not parked any more (the table moves parked to busy). Kept
      // parked, the resume would find this prompt unanswered and send it again (soak seed 804754, one hour:
      // answered twice); refused, its StopFailure parks the session again with this prompt owed.
      if (s.state === "parked") patch.parkedUntil = null;
      setState("hook_prompt");
      break;
    }
    case "Stop": {
      patch.lastPromptAnswered = true;
      signals.push({ kind: "turn_done", message: str(p, "last_assistant_message") });
      setState("hook_stop");
      break;
    }
    case "StopFailure": {
      const error = str(p, "error") ?? "unknown";
      const message = str(p, "last_assistant_message");
      patch.failedPrompt = s.lastPrompt;
      signals.push({ kind: "turn_failed", error, message, prompt: s.lastPrompt, account: ev.account });
      // A server throttle ("not your usage limit") says nothing about the account: the session is idle,
      // waiting for the limit reactor's retry on the same account, never `limited` (which moves it).
      const throttle = error === "rate_limit" && classifyRateLimit(message) === "throttle";
      if (throttle) setState("hook_refused", `${THROTTLE_REASON}${message ? `: ${message}` : ""}`);
      else setState(error === "rate_limit" ? "hook_limit" : "hook_refused", `${error}${message ? `: ${message}` : ""}`);
      break;
    }
    case "Notification": {
      const t = str(p, "notification_type") ?? "";
      if (t === "permission_prompt" || t === "elicitation_dialog") setState("hook_dialog", t);
      else if (t === "idle_prompt") setState("hook_idle_prompt");
      break;
    }
    case "PermissionRequest": {
      const tool = str(p, "tool_name");
      signals.push({ kind: "permission_request", tool, summary: toolSummary(tool, p.tool_input) });
      setState("hook_dialog", "permission_prompt");
      break;
    }
    case "SessionEnd": {
      signals.push({ kind: "session_end", reason: str(p, "reason") });
      setState("hook_end", str(p, "reason"));
      break;
    }
    default:
      break;
  }
  return { patch, signals };
}

/**
 * A SessionStart that must not change the conversation id (issue 13 point 6): some CLI builds fire a second
 * SessionStart on `--resume`, with `source: "startup"` and a new, empty session id (anthropics/claude-code
 * 23932, 24265). The daemon always launches with `--resume X` or `--session-id X` and keeps X in the row, so
 * a `startup` SessionStart naming another id is not this conversation's: the reason to ignore it, or null.
 * `clear` and `compact` (and `resume`) still change the id.
 */
export function strayStartupSessionStart(s: SessionRow, ev: HookEvent): string | null {
  if (ev.event !== "SessionStart") return null;
  const id = str(ev.payload, "session_id");
  const source = str(ev.payload, "source") ?? "startup";
  if (source !== "startup" || !id || !s.claudeSessionId || id === s.claudeSessionId) return null;
  return `SessionStart (source startup) names session ${id}, but this CLI was launched with ${s.claudeSessionId}: ignored, the conversation id is kept`;
}

/** Why a session that sent no SessionStart within `timeoutMs` of its launch is `failed` (issue 13 point 5). */
export function startTimeoutReason(timeoutMs: number): string {
  return (
    `no SessionStart within ${Math.round(timeoutMs / 1000)}s of the launch (sessions.start_timeout): the CLI runs none of our hooks ` +
    "(a managed settings file with disableAllHooks or allowManagedHooksOnly? run claude-failover doctor) or is stuck before its prompt (attach to see)"
  );
}
