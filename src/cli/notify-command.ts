// `claude-failover notify test [TARGET]`: the daemon sends a sample notification to each configured target
// (or the named one) once, and says for each whether it arrived (docs/notifications.md).
import type { Command } from "commander";
import { tokenFileFor } from "../ops/env-file.js";
import { localCall, operatorToken } from "../ops/control-client.js";
import { explainError } from "./human.js";
import { ExitError, loadCliConfig } from "../ops/cli-config.js";
import { notRunning, type CliIo } from "./io.js";

interface TestResult {
  target: string;
  kind: string;
  ok: boolean;
  error: string | null;
}

export function registerNotifyCommand(program: Command, io: CliIo, cfgFlag: () => string | undefined): void {
  const notify = program.command("notify").description("notifications (notify.targets in the config)");
  notify
    .command("test")
    .argument("[target]", "a target's name (default: every target)")
    .description("send a sample notification to each target; exit 1 if one is not reached")
    .option("--json", "print JSON")
    .action(async (target: string | undefined, o: { json?: boolean }) => {
      const { config: c, path } = loadCliConfig(cfgFlag(), io.env);
      const r = await localCall(
        c,
        "POST",
        "/trigger/notify-test",
        target ? { target } : {},
        operatorToken(c, io.env, path),
      ).catch((e: unknown) => {
        throw new ExitError(1, notRunning(c, e));
      });
      if (r.status !== 200) throw new ExitError(1, `notify test failed: ${explainError(r, tokenFileFor(path))}`);
      const results = (r.body as { results: TestResult[] }).results;
      if (o.json) io.out(`${JSON.stringify(r.body, null, 2)}\n`);
      else if (!results.length) io.out("no notification targets configured (notify.targets in the config)\n");
      else
        for (const x of results)
          io.out(
            x.ok
              ? `${x.target} (${x.kind}): sent\n`
              : `${x.target} (${x.kind}): NOT reached: ${x.error ?? "unknown error"}\n`,
          );
      if (!results.length || results.some((x) => !x.ok)) throw new ExitError(1, "");
    });
}
