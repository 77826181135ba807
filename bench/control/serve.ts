// The server half of bench/control/sessions-list.ts, in its own process as the daemon would be:
// a daemon with no CLIs and the sweep off, 100 sessions as store rows + specs, the rate limit off.
// Prints one JSON line {listen, token} when ready; stops on SIGTERM.
import { Daemon } from "../../src/daemon.js";
import { silentLogger } from "../../src/util/log.js";
import { makeHarness } from "../../test/support/harness.js";

const SESSIONS = Number(process.argv[2] ?? 100);
const STATES = ["idle", "idle", "idle", "busy", "busy", "waiting", "parked", "limited"] as const;

const h = await makeHarness({ accounts: 4, dedicated: [], config: { mcp_http: { rate_limit_per_minute: 0 } } });
const d = await Daemon.start({
  config: h.loadConfig(),
  env: h.env,
  log: silentLogger(),
  realHome: h.root,
  sweepMs: 3_600_000,
});
seed(d);
console.log(
  JSON.stringify({ listen: String((h.configObject.mcp_http as Record<string, unknown>).listen), token: h.token }),
);
process.once("SIGTERM", () => {
  void d.stop().finally(() => h.cleanup().finally(() => process.exit(0)));
});

/** Sessions over four accounts in a mix of states, a third with a finished swap behind them. */
function seed(daemon: Daemon): void {
  const now = Date.now();
  for (let i = 0; i < SESSIONS; i++) {
    const name = `s-${String(i).padStart(3, "0")}`;
    const account = "abcd"[i % 4]!;
    daemon.sessions.specs.set(name, { name, kind: "dedicated", project: h.project(name), account, args: [] });
    daemon.store.insertSession(
      {
        name,
        kind: "dedicated",
        project: h.project(name),
        account,
        claudeSessionId: crypto.randomUUID(),
        state: "idle",
      },
      now,
    );
    daemon.store.updateSession(
      name,
      {
        state: STATES[i % STATES.length]!,
        lastPrompt: `prompt ${i} `.repeat(20),
        lastPromptAt: now,
        lastActivity: now,
      },
      now,
    );
    if (i % 3 === 0) {
      const id = daemon.store.insertSwap(
        {
          session: name,
          from: "abcd"[(i + 1) % 4]!,
          to: account,
          reason: "quota_threshold",
          urgent: false,
          resend: null,
        },
        now - 60_000,
      );
      for (const step of ["locked", "checkpointed", "turn_ended", "exited", "respawned", "confirmed"])
        daemon.store.recordSwapStep(id, { step, at: now, ms: 100 });
      daemon.store.finishSwap(id, "ok", null, now - 50_000);
    }
  }
}
