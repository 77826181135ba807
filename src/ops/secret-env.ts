// The daemon's environment variables no child process gets: not the CLI sessions (launch.ts scrub), not
// `claude-failover login`'s CLI, not notify commands, not git. One list, so a new secret is added once.
import type { Config } from "../config/types.js";
import { AUTH_OVERRIDES } from "../sessions/launch.js";
import { SYSTEMD_NOTIFY_VARS } from "./sd-notify.js";

/**
 * Names of the variables kept from children under config `c`: the auth overrides (they would bypass an
 * account's login), systemd's notify socket, the MCP bearer token's variable (mcp_http.bearer_token_env) and
 * the PostgreSQL URL's (store.postgres_url_env, which may hold a password), in that order, without repeats.
 */
export function secretEnvNames(c: Pick<Config, "mcp_http" | "store">): string[] {
  const names = [
    ...AUTH_OVERRIDES,
    ...SYSTEMD_NOTIFY_VARS,
    c.mcp_http.bearer_token_env,
    ...(c.store.postgres_url_env ? [c.store.postgres_url_env] : []),
  ];
  return [...new Set(names)];
}
