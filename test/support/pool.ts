// A setup several end-to-end tests share: no dedicated session, an autonomous pool of one session on a
// `work` project, the daemon started in-process and that session idle.
import type { Daemon } from "../../src/daemon.js";
import { makeHarness, type Harness } from "./harness.js";
import { waitFor } from "./wait.js";

/** `accounts` accounts, a pool of exactly one session (`auto-01`) on `<root>/projects/work`, started and idle. */
export async function startOnePool(accounts: number): Promise<{ h: Harness; d: Daemon }> {
  const h = await makeHarness({ accounts, dedicated: [], config: { pool: { max: 1, min: 1 } } });
  (h.configObject.pool as Record<string, unknown>).project = h.project("work");
  h.writeConfig();
  const d = await h.start();
  await waitFor(() => d.sessions.get("auto-01")?.state === "idle", 60_000, "auto-01 idle");
  return { h, d };
}
