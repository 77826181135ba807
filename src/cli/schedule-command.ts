// `claude-failover schedules`: the configured schedules with their next and last run, from the running daemon.
import type { Command } from "commander";
import { errorText, localCall } from "../ops/control-client.js";
import { ago, table } from "./format.js";
import { ExitError, loadCliConfig } from "../ops/cli-config.js";
import type { CliIo } from "./io.js";

type Obj = Record<string, unknown>;

export function registerScheduleCommand(program: Command, io: CliIo, cfgFlag: () => string | undefined): void {
  program
    .command("schedules")
    .description("schedules (recurring pool tasks): cron, project, next run, last run and its task")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const { config: c } = loadCliConfig(cfgFlag(), io.env);
      const r = await localCall(c, "GET", "/schedules").catch((e: unknown) => {
        throw new ExitError(
          1,
          `cannot reach the daemon (is it running?): ${e instanceof Error ? e.message : String(e)}`,
        );
      });
      if (r.status !== 200) throw new ExitError(1, errorText(r));
      io.out(o.json ? `${JSON.stringify(r.body, null, 2)}\n` : `${formatSchedules(r.body as Obj[])}\n`);
    });
}

/** One row per schedule; times as UTC ISO with how far away they are. */
export function formatSchedules(rows: Obj[], now = Date.now()): string {
  if (!rows.length) return "no schedules (add them under schedules: in the config)";
  const when = (v: unknown) =>
    typeof v === "number" ? `${new Date(v).toISOString().replace(".000Z", "Z")} (${ago(v, now)})` : "-";
  return table([
    ["NAME", "CRON", "ZONE", "NEXT RUN", "LAST RUN", "OUTCOME", "TASK", "TASK STATE"],
    ...rows.map((s) => {
      const last = s.lastRun as Obj | null;
      const outcome = last ? `${String(last.outcome)}${last.error ? `: ${String(last.error)}` : ""}` : "-";
      return [
        String(s.name),
        String(s.cron),
        String(s.timezone ?? "local"),
        when(s.nextRun),
        when(last?.at),
        outcome,
        String(last?.task ?? "-"),
        String(last?.taskState ?? "-"),
      ];
    }),
  ]);
}
