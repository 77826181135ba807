// `npm run soak`: 40 dedicated sessions + an autonomous pool of 10 on the stub CLI, 5 accounts with small
// caps on the stand-in API, a stream of typed prompts and inbox tasks; then the invariants of
// docs/reliability.md. Stops by itself; exit status 1 when an invariant broke.
// Env (all optional): SOAK_SECONDS (120; an hour: 3600), SOAK_SEED, SOAK_DEDICATED (40), SOAK_POOL_MAX (10),
// SOAK_ACCOUNTS (5), SOAK_CAP (turns per account per window, 20), SOAK_WINDOW_S (45), SOAK_RATE (prompts/s, 2),
// SOAK_TASK_RATE (tasks/s, 0.3), SOAK_SLOW_MIN_MS / SOAK_SLOW_MAX_MS (turn length, 200-2500), SOAK_DRAIN_S (150).
import { printReport } from "./scale-report.js";
import { runSoak, soakDefaults } from "../test/scale/soak-run.js";

const opts = soakDefaults(process.env, "SOAK");
const report = await runSoak(opts);
printReport("soak", report);
process.exit(report.ok ? 0 : 1);
