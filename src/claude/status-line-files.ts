// The files of our status line: the script Claude Code runs as its `statusLine` command, its folders, and
// each session's copy of the user's own status-line command. What the CLI gives the script, and when, is
// quota/status-line.ts (docs/claude-code.md, "Seen on 2.1.332"). Here, not in quota/, because sessions/
// writes a session's files at launch and quota/ reads the feed: both import this folder, neither the other.
import { readFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/fs-atomic.js";

export interface StatusLineFiles {
  /** the command our --settings names as `statusLine` */
  script: string;
  /** where the script keeps each session's latest input */
  feedDir: string;
  /** where the daemon writes each session's own status-line command */
  userDir: string;
}

/** Writes the status-line script and its folders under `root` (config/paths.ts statusLineDir; 0700, script 0700). */
export function writeStatusLineFiles(root: string): StatusLineFiles {
  const files = { script: join(root, "statusline.sh"), feedDir: join(root, "feed"), userDir: join(root, "user") };
  for (const d of [root, files.feedDir, files.userDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  writeFileAtomic(files.script, STATUS_LINE_SCRIPT, 0o700);
  return files;
}

/**
 * The user's own status line for a session, so ours can run it: the first `statusLine` command found in
 * the project's `.claude/settings.local.json`, its `.claude/settings.json`, the account home's
 * `.claude/settings.json`, then the daemon user's own `~/.claude/settings.json` (the order in which the
 * CLI itself lets them override each other). Written as `userDir/<session>.sh`, or removed when none.
 */
export function writeUserStatusLine(
  files: StatusLineFiles,
  session: string,
  where: { project: string; accountHome: string; userHome: string | null },
): string | null {
  const candidates = [
    join(where.project, ".claude", "settings.local.json"),
    join(where.project, ".claude", "settings.json"),
    join(where.accountHome, ".claude", "settings.json"),
    ...(where.userHome ? [join(where.userHome, ".claude", "settings.json")] : []),
  ];
  let command: string | null = null;
  for (const f of candidates) {
    try {
      command = userStatusLineCommand(readFileSync(f, "utf8"));
    } catch {
      command = null;
    }
    if (command) break;
  }
  const target = join(files.userDir, `${session}.sh`);
  if (command) writeFileAtomic(target, `${command}\n`, 0o600);
  else rmSync(target, { force: true });
  return command;
}

/**
 * The status-line command. It must be quick and print only what the user's own status line prints:
 * it saves its stdin as `feed/<session>.<account>.json` (temp file + rename, so the daemon never reads
 * half of it; one file per session, replaced each time, so a busy CLI leaves no backlog), then runs
 * `user/<session>.sh` — the user's own status-line command, written there by the daemon at launch —
 * with the same input, so nobody loses their status line. Without one it prints the account's name.
 * Paths are relative to the script's own folder; session and account come from the CLI's environment.
 */
export const STATUS_LINE_SCRIPT = `#!/bin/sh
# claude-failover status line: keeps the CLI's latest status input (usage figures) for the daemon,
# then shows the user's own status line. Keep it tiny.
dir=\${0%/*}
s=\${CLAUDE_FAILOVER_SESSION:-unknown}
a=\${CLAUDE_FAILOVER_ACCOUNT:-unknown}
f="$dir/feed/$s.$a.json"
t="$dir/feed/.$s.$a.$$.tmp"
if cat > "$t" 2>/dev/null; then mv -f "$t" "$f" 2>/dev/null || rm -f "$t"; else rm -f "$t"; fi
u="$dir/user/$s.sh"
if [ -f "$u" ]; then
  sh "$u" < "$f"
else
  printf 'claude-failover · account %s' "$a"
fi
exit 0
`;

/** The settings `statusLine` value of one settings file's JSON text, when it is a command; else null. */
export function userStatusLineCommand(settingsJson: string): string | null {
  try {
    const o = JSON.parse(settingsJson) as { statusLine?: { type?: unknown; command?: unknown } };
    const sl = o?.statusLine;
    return sl && sl.type === "command" && typeof sl.command === "string" && sl.command.trim() ? sl.command : null;
  } catch {
    return null;
  }
}
