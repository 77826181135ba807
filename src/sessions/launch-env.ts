// claude.env values reach the CLI through files, never through argv or tmux (issue 14): the pane runs
// `/bin/sh launch.sh <env dir> <cli argv...>`, and the launcher exports one variable per file before it
// execs the CLI. tmux's `#{pane_start_command}` and /proc/*/cmdline show only the directory's path.
import { lstatSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { CfError } from "../util/errors.js";
import { systemClock } from "../util/clock.js";
import { ensureRealDir, writeFileAtomic } from "../util/fs-atomic.js";

/**
 * Exports every file in the directory $1 as the variable of its name (the file's bytes are the value,
 * read as data and never evaluated: no shell ever interprets them), then execs the rest of its arguments.
 * `printf x` keeps trailing newlines that command substitution would strip. A missing directory is an
 * error, not a start without the configured environment.
 */
export const LAUNCHER_SCRIPT = `#!/bin/sh
# claude-failover launcher: sets the variables stored in $1 (one file each), then runs the CLI.
dir=$1
shift
[ -d "$dir" ] || { echo "claude-failover: launch environment $dir is missing" >&2; exit 126; }
for f in "$dir"/*; do
  [ -f "$f" ] || continue
  name=\${f##*/}
  case $name in ''|[0-9]*|*[!A-Za-z0-9_]*) continue ;; esac
  value=$(cat -- "$f" && printf x) || exit 126
  export "$name=\${value%x}"
done
exec "$@"
`;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Paths for buildLaunchArgv: the launcher script and the directory holding this config's values. */
export interface LaunchEnv {
  launcher: string;
  envDir: string;
}

/**
 * Owns `<root>/launch.sh` and `<root>/env-*` (root 0700, files 0600). A new directory is written only when
 * the values change (a reload); the one before the previous is removed then, and at the first call every
 * stale one left by an earlier run (nothing is being launched at start-up yet).
 */
export class LaunchEnvFiles {
  private current: { key: string; dir: string } | null = null;
  private previous: string | null = null;
  private launcher: string | null = null;

  constructor(private readonly root: string) {}

  /** Throws CfError("bad_env_name") for a name the launcher would skip (the config schema prevents it). */
  prepare(env: Record<string, string>): LaunchEnv {
    const bad = Object.keys(env).find((k) => !ENV_NAME.test(k));
    if (bad !== undefined)
      throw new CfError("bad_env_name", `claude.env: ${JSON.stringify(bad)} is not an environment variable name`);
    const key = JSON.stringify(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1)));
    if (!this.launcher) {
      ensureRealDir(this.root);
      for (const n of readdirSync(this.root))
        if (n.startsWith("env-")) rmSync(join(this.root, n), { recursive: true, force: true });
      this.launcher = join(this.root, "launch.sh");
    }
    writeFileAtomic(this.launcher, LAUNCHER_SCRIPT, 0o700);
    if (this.current?.key !== key) {
      const dir = join(this.root, `env-${systemClock.now().toString(36)}-${randomBytes(4).toString("hex")}`);
      mkdirSync(dir, { mode: 0o700 });
      for (const [k, v] of Object.entries(env)) writeFileAtomic(join(dir, k), v, 0o600);
      if (this.previous) rmSync(this.previous, { recursive: true, force: true });
      this.previous = this.current?.dir ?? null;
      this.current = { key, dir };
    }
    // Someone removed it under us: write it again rather than start sessions without their environment.
    if (!isDir(this.current.dir)) {
      this.current = null;
      return this.prepare(env);
    }
    return { launcher: this.launcher, envDir: this.current.dir };
  }
}

function isDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}
