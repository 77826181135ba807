// The environment a command target or notify-send runs with: the daemon's own, less everything secret
// the daemon knows of. Pure.
import type { NotifyConfig } from "../config/notify-config.js";

/**
 * `env` without the variables in `scrub` (the daemon passes what it keeps out of sessions: the auth
 * overrides, systemd's notify/watchdog variables, the bearer token's variable) and without every variable
 * the notify config referred to with `${VAR}` (a webhook's secret URL must not reach another target's program).
 */
export function notifyChildEnv(
  env: NodeJS.ProcessEnv,
  notify: Pick<NotifyConfig, "referenced_env">,
  scrub: readonly string[],
): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of [...scrub, ...(notify.referenced_env ?? [])]) delete out[name];
  return out;
}
