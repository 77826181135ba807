// Sentences for the terminal: what an operator command did, and what a refusal means and how to fix it.
import type { ClientResponse } from "../ops/control-client.js";

type Obj = Record<string, unknown>;
const str = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : "?");

/** One line (or two) saying what a /trigger/* call did; `ok: false` when the daemon reports a failed operation. */
export function describeTrigger(path: string, req: Obj, res: unknown): { ok: boolean; text: string } {
  const r = (res && typeof res === "object" ? res : {}) as Obj;
  const session = str(req.session);
  switch (path) {
    case "/trigger/swap":
      if (r.ok === true) {
        const secs = typeof r.durationMs === "number" ? ` in ${(r.durationMs / 1000).toFixed(1)} s` : "";
        return {
          ok: true,
          text: `swapped ${session} from ${r.from === null ? "no account" : str(r.from)} to ${str(r.to)}${secs}${r.resent ? "; the unanswered prompt was sent again" : ""}`,
        };
      }
      return { ok: false, text: `the swap of ${session} was ${str(r.outcome).replace("_", " ")}: ${str(r.reason)}` };
    case "/trigger/checkpoint":
      return { ok: true, text: `took a checkpoint of ${session}: ${str(r.path)}` };
    case "/trigger/restart":
      return { ok: true, text: `restarted the CLI of ${session} (claude-failover status shows when it is idle)` };
    case "/trigger/send":
      return { ok: true, text: `sent the prompt to ${session}; the CLI took it` };
    case "/trigger/command":
      return { ok: true, text: `ran ${str(r.command ?? req.command)} in ${session}; the CLI took it` };
    case "/trigger/account":
    case "/trigger/account-enable":
    case "/trigger/account-disable":
      return { ok: true, text: `account ${str(r.account ?? req.account)} is ${str(r.state)} now` };
    case "/trigger/scale":
      return {
        ok: true,
        text: `the pool now runs at least ${str(r.min)} and at most ${str(r.max)} pool sessions (until the next reload or restart, which apply pool.min/max)`,
      };
    default:
      return { ok: r.ok !== false, text: JSON.stringify(res, null, 2) };
  }
}

/**
 * A refused or failed call as a sentence with the fix, e.g. 401 → how to load the token.
 * `tokenFile` is where the token lives (token.env beside the config).
 */
export function explainError(r: ClientResponse, tokenFile: string): string {
  const b = r.body as { error?: { message?: string } } | string | null;
  const msg =
    typeof b === "object" && b?.error?.message ? b.error.message : typeof b === "string" && b ? b : `HTTP ${r.status}`;
  const load = `set -a; . ${tokenFile}; set +a`;
  switch (r.status) {
    case 401:
    case 403:
      return `the daemon refused the request (${r.status}: ${msg}): it needs the control-plane token. Load it with \`${load}\` and try again`;
    case 404:
      return `${msg}; \`claude-failover status\` lists the sessions and accounts`;
    case 409:
      return `refused: ${msg}. Try again once that is over; \`claude-failover status\` shows what each session and account is doing`;
    case 400:
      return `${msg}; see \`claude-failover --help\` for how to call it`;
    case 429:
      return `the daemon is rate limiting requests (${msg}); try again in a minute`;
    default:
      return `the daemon answered ${r.status}: ${msg}; its log (journalctl --user -u claude-failover, or the terminal running it) has the details`;
  }
}
