import { writeFileAtomic } from "../util/fs-atomic.js";

// PermissionRequest: fires the moment a tool-permission dialog opens, with tool_name and tool_input (the
// Notification permission_prompt comes ~6 s later, without them); a hook that prints nothing leaves the
// dialog to the person (verified 2.1.197, 2.1.332: docs/notes/permission-dialog.md).
export const HOOK_EVENTS = [
  "SessionStart",
  "UserPromptSubmit",
  "Stop",
  "StopFailure",
  "Notification",
  "PermissionRequest",
  "SessionEnd",
] as const;

/**
 * How long the hook tries again to spool an event it could not write (a full disk), in seconds; below
 * HOOK_TIMEOUT_S. The environment variable CLAUDE_FAILOVER_HOOK_RETRY_S overrides it (tests).
 */
export const HOOK_RETRY_S = 30;
/** The CLI's timeout for our hook command (settings `timeout`, seconds): the retries and a margin. */
export const HOOK_TIMEOUT_S = 40;

/**
 * The hook blocks the CLI while it runs (UserPromptSubmit runs before the prompt is sent), so it only
 * spools stdin: temp file, then rename, so the daemon never reads half an event. It prints nothing on
 * stdout (UserPromptSubmit output would be added to the prompt) and always exits 0 (never blocks a turn).
 * The file name carries time, session, account and launch, so events spooled while the daemon is down
 * are attributed and ordered when it comes back, and events of a CLI we did not launch are told apart.
 * The payload is read into memory first: a write that fails (a full disk) is tried again every 0.2 s for
 * up to HOOK_RETRY_S while the spool dir exists, the CLI waiting meanwhile, so an event is not lost to a
 * moment's full disk and events still reach the spool in the order the hooks ran (the CLI runs the next
 * hook only after this one). Given up, it says so on stderr (the CLI's hook error output).
 */
export const HOOK_SCRIPT = `#!/bin/sh
# claude-failover hook: spools one Claude Code hook event for the daemon. Keep it tiny.
spool="$CLAUDE_FAILOVER_SPOOL"
[ -n "$spool" ] || { cat >/dev/null; exit 0; }
ts=$(date +%s%N 2>/dev/null)
case "$ts" in *N*|"") ts="$(date +%s)000000000" ;; esac
name="$ts.$$.\${CLAUDE_FAILOVER_SESSION:-unknown}.\${CLAUDE_FAILOVER_ACCOUNT:-unknown}\${CLAUDE_FAILOVER_LAUNCH:+.$CLAUDE_FAILOVER_LAUNCH}.$1"
tmp="$spool/.$name.tmp"
# Kept in memory (the "." keeps a trailing newline), so a write the disk refused can be made again.
payload=$(cat; echo .)
payload=\${payload%.}
spooled() { printf '%s' "$payload" 2>/dev/null >"$tmp" && mv "$tmp" "$spool/$name.json" 2>/dev/null; }
spooled && exit 0
end=$(( $(date +%s) + \${CLAUDE_FAILOVER_HOOK_RETRY_S:-${HOOK_RETRY_S}} ))
while [ -d "$spool" ] && [ "$(date +%s)" -lt "$end" ]; do
  rm -f "$tmp" 2>/dev/null
  sleep 0.2 2>/dev/null || sleep 1
  spooled && exit 0
done
rm -f "$tmp" 2>/dev/null
echo "claude-failover: could not spool the $1 hook event to $spool (disk full?)" >&2
exit 0
`;

export interface HookFiles {
  script: string;
  settings: string;
}

// Shell-quote for the hook command line in settings.json: our own path, single-quoted.
function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Writes the hook script and the settings file every CLI is launched with (`--settings`): our hooks and,
 * when given, our status-line command (src/quota/status-line.ts), which runs the user's own in turn. Written
 * again on reload (same paths, atomically).
 */
export function writeHookFiles(
  files: HookFiles,
  statusLineScript?: string,
  opts: { acceptBypass?: boolean } = {},
): HookFiles {
  const { script, settings } = files;
  writeFileAtomic(script, HOOK_SCRIPT, 0o700);
  const hooks: Record<string, unknown> = {};
  for (const ev of HOOK_EVENTS) {
    hooks[ev] = [{ hooks: [{ type: "command", command: `${shq(script)} ${ev}`, timeout: HOOK_TIMEOUT_S }] }];
  }
  const statusLine = statusLineScript
    ? { statusLine: { type: "command", command: shq(statusLineScript), padding: 0 } }
    : {};
  // A project's or user's `"disableAllHooks": true` would silence our hooks, and the session would never
  // leave `starting`: settings passed with --settings take precedence over those files, so our explicit
  // false wins (verified with the real CLI, docs/notes/hooks-settings.md). Managed settings still can't be
  // overridden: doctor reports them (src/ops/doctor-system.ts).
  // pool.permission_mode bypassPermissions: the CLI would stop each new session at its "Bypass
  // Permissions mode … Yes, I accept" warning; configuring the mode is the operator's acceptance. The CLI reads
  // this key from --settings too (verified 2.1.197: docs/notes/permission-dialog.md); it changes nothing for a
  // session not started in that mode.
  const bypass = opts.acceptBypass ? { skipDangerousModePermissionPrompt: true } : {};
  writeFileAtomic(
    settings,
    JSON.stringify({ disableAllHooks: false, hooks, ...statusLine, ...bypass }, null, 2),
    0o600,
  );
  return { script, settings };
}
