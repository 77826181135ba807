import { randomBytes } from "node:crypto";
import { CfError, errorMessage } from "../util/errors.js";
import type { Exec } from "./exec.js";

/** Marks a tmux session as supervised by us, so a restarted daemon adopts it instead of starting a copy. */
export const OWNER_OPTION = "@claude-failover";

export interface PaneInfo {
  session: string;
  paneId: string;
  dead: boolean;
  deadStatus: number | null;
  pid: number | null;
  owned: boolean;
}

export interface LaunchSpec {
  cwd: string;
  /** argv; always run directly by tmux (we pass ≥ 2 words so tmux never hands it to a shell). */
  argv: string[];
}

// Socket selection: "" = the user's default server; a path (has "/") = -S; otherwise a name = -L.
export function socketArgs(socket: string): string[] {
  if (!socket) return [];
  return socket.includes("/") ? ["-S", socket] : ["-L", socket];
}

// `-t name` matches by prefix in tmux; `=name` is exact. Options and panes need the `=name:` form.
// Targets are not format-expanded (verified, docs/notes/tmux-formats.md), so a name goes in as it is.
const sess = (name: string) => `=${name}`;
const pane = (name: string) => `=${name}:`;

/**
 * A literal for an argument tmux format-expands (`new-session -s` and `-c`, `respawn-pane -c`; tmux
 * 3.3a, docs/notes/tmux-formats.md): `#(cmd)` would run cmd, `#{x}` and `#S` would be replaced. tmux
 * turns `##` back into one `#`, except in a run of `#`s right before `[` (a style), which it copies
 * as it is: such a run is left alone, every other `#` is doubled. The value then arrives exactly as given.
 */
export function formatLiteral(s: string): string {
  return s.replace(/#+\[|#/g, (m) => (m === "#" ? "##" : m));
}

/**
 * argv for one tmux client call running one or more commands. The client parses its arguments as a
 * command list in every call, not only ours that chain commands: an argument ending in `;` ends a
 * command (verified: `send-keys -l 'x;'` typed only `x`). Each argument is made list-safe here; the `;`
 * separators this function puts between commands are the only bare ones.
 */
export function commandList(...commands: string[][]): string[] {
  return commands.flatMap((c, i) => (i === 0 ? c.map(listSafe) : [";", ...c.map(listSafe)]));
}

export class Tmux {
  /** Count of tmux invocations, for the idle-cost benchmark. */
  calls = 0;
  constructor(
    private readonly exec: Exec,
    private readonly socket: string,
  ) {}

  /** Runs `commands` as one client call (see commandList); fails with tmux_failed unless allowFail. */
  private async run(commands: string[][], input?: string, allowFail = false): Promise<string> {
    this.calls++;
    const args = commandList(...commands);
    const r = await this.exec([...socketArgs(this.socket), ...args], { input });
    if (r.code !== 0 && !allowFail) {
      throw new CfError("tmux_failed", `tmux ${args[0]} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
    return r.code === 0 ? r.stdout : "";
  }

  async hasSession(name: string): Promise<boolean> {
    this.calls++;
    const r = await this.exec([...socketArgs(this.socket), ...commandList(["has-session", "-t", sess(name)])]);
    return r.code === 0;
  }

  /**
   * Creates a detached session running spec.argv, marked as ours, keeping the pane when the program
   * exits. The session starts on a placeholder and the real program is respawned into it only once
   * the options are set: a CLI that dies at once would otherwise take the session with it before
   * remain-on-exit holds, and its exit status would be lost.
   */
  async newSession(name: string, spec: LaunchSpec, size = { cols: 200, rows: 50 }): Promise<void> {
    // One tmux command list (`;` between commands), which the server runs as a whole: a daemon killed
    // half-way through can't leave a session that isn't marked ours (a name conflict for good after its
    // restart) or a marked one still running the placeholder (adopted as if it were the CLI).
    try {
      await this.run([
        [
          "new-session",
          "-d",
          "-s",
          formatLiteral(name),
          "-x",
          String(size.cols),
          "-y",
          String(size.rows),
          "-c",
          formatLiteral(spec.cwd),
          "--",
          "env",
          "sleep",
          "86400",
        ],
        ["set-option", "-t", pane(name), OWNER_OPTION, "1"],
        ["set-option", "-w", "-t", pane(name), "remain-on-exit", "on"],
        ["set-option", "-t", pane(name), "history-limit", "10000"],
        this.respawnArgs(name, spec),
      ]);
    } catch (e) {
      // A half-made session would be adopted later as if complete: remove it; but never a session of
      // that name that was there before (tmux stopped at new-session then).
      if (!/duplicate session/.test(errorMessage(e))) await this.killSession(name);
      throw e;
    }
  }

  private respawnArgs(name: string, spec: LaunchSpec): string[] {
    // -c is format-expanded; the command's own argv is not (verified), so it goes in as it is.
    return ["respawn-pane", "-k", "-t", pane(name), "-c", formatLiteral(spec.cwd), "--", ...launchArgv(spec.argv)];
  }

  /** Restarts the program in the same pane: attached clients stay attached. */
  async respawn(name: string, spec: LaunchSpec): Promise<void> {
    await this.run([this.respawnArgs(name, spec)]);
  }

  async killSession(name: string): Promise<void> {
    await this.run([["kill-session", "-t", sess(name)]], undefined, true);
  }

  async killServer(): Promise<void> {
    await this.run([["kill-server"]], undefined, true);
  }

  /** One call for every pane on the server: the sweep costs the same with 1 or 100 sessions. */
  async listPanes(): Promise<PaneInfo[]> {
    const fmt = [
      "#{session_name}",
      "#{pane_id}",
      "#{pane_dead}",
      "#{pane_dead_status}",
      "#{pane_pid}",
      `#{${OWNER_OPTION}}`,
    ].join("\t");
    this.calls++;
    const r = await this.exec([...socketArgs(this.socket), ...commandList(["list-panes", "-a", "-F", fmt])]);
    if (r.code !== 0) return []; // no server running = no panes
    return r.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [session = "", paneId = "", dead, status, pid, owned] = line.split("\t");
        return {
          session,
          paneId,
          dead: dead === "1",
          deadStatus: status ? Number(status) : null,
          pid: pid ? Number(pid) : null,
          owned: owned === "1",
        };
      });
  }

  async capture(name: string, scrollbackLines = 0): Promise<string> {
    const args = ["capture-pane", "-p", "-J", "-t", pane(name)];
    if (scrollbackLines > 0) args.push("-S", String(-scrollbackLines));
    return this.run([args]);
  }

  /** Types text literally (no key-name lookup). Only for single-line text. */
  async sendLiteral(name: string, text: string): Promise<void> {
    if (text.length) await this.run([["send-keys", "-t", pane(name), "-l", "--", text]]);
  }

  /** Sends named keys (Enter, Escape, C-c). */
  async sendKeys(name: string, ...keys: string[]): Promise<void> {
    await this.run([["send-keys", "-t", pane(name), ...keys]]);
  }

  /**
   * Pastes text through a uniquely named buffer loaded from stdin, as a bracketed paste (-p), so newlines
   * don't submit early and nothing is interpreted. -d deletes the buffer afterwards; -r keeps LF as LF.
   */
  async paste(name: string, text: string): Promise<void> {
    const buf = `cf-${randomBytes(6).toString("hex")}`;
    await this.run([["load-buffer", "-b", buf, "-"]], text);
    try {
      await this.run([["paste-buffer", "-p", "-r", "-d", "-b", buf, "-t", pane(name)]]);
    } catch (e) {
      await this.run([["delete-buffer", "-b", buf]], undefined, true);
      throw e;
    }
  }
}

// In a command list an argument ending in ";" ends a command; a "\;" at its end stands for a literal ";".
function listSafe(arg: string): string {
  return arg.endsWith(";") ? `${arg.slice(0, -1)}\\;` : arg;
}

// tmux runs a single-word command through the shell; a leading `env` guarantees ≥ 2 words → direct exec.
function launchArgv(argv: string[]): string[] {
  return argv[0] === "env" ? argv : ["env", ...argv];
}
