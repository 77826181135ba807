// The daemon's own ANTHROPIC_* variables do not reach the CLI: sessions get only claude.env (and the
// tmux server keeps the environment of whoever started it). Said once at start, so nobody wonders.
import { AUTH_OVERRIDES } from "../sessions/launch.js";

/** One warning per ANTHROPIC_* variable in `env` that claude.env does not set; sorted by name. */
export function anthropicEnvWarnings(
  env: NodeJS.ProcessEnv,
  claudeEnv: Record<string, string>,
  configPath: string,
): string[] {
  const out: string[] = [];
  for (const k of Object.keys(env)
    .filter((k) => k.startsWith("ANTHROPIC_"))
    .sort()) {
    if (k in claudeEnv) continue;
    if (AUTH_OVERRIDES.includes(k)) {
      out.push(
        `${k} is set in the daemon's environment and is kept from the CLI on purpose: each account's own login is used`,
      );
    } else {
      out.push(
        `${k} is set in the daemon's environment but the CLI will not get it (sessions get only claude.env): set claude.env.${k} in ${configPath}`,
      );
    }
  }
  return out;
}
