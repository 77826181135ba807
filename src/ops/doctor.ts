// `claude-failover doctor`: checks the whole setup and prints each check with a fix; exit 1 if any fails.
import { homedir } from "node:os";
import { join } from "node:path";
import { formatIssue, loadConfigFile, resolveConfigPath } from "../config/load.js";
import { ExitError } from "./cli-config.js";
import { checkHomes } from "./doctor-homes.js";
import { checkManagedSettings } from "./doctor-hooks.js";
import { checkPoolPermissionMode } from "./doctor-pool.js";
import { checkSchedules } from "./doctor-schedules.js";
import { checkLogins, checkUsageEndpoint } from "./doctor-login.js";
import { fail, formatCheck, ok, summary, warn, type Check } from "./doctor-report.js";
import {
  checkCli,
  checkPort,
  checkStateDir,
  checkTmux,
  checkToken,
  checkUnit,
  realRun,
  type Run,
  type UnitLocation,
} from "./doctor-system.js";
import type { OpsIo } from "./io.js";
import { unitDirFor } from "./init.js";
import { UNIT_NAME, which } from "./unit-file.js";

export interface DoctorOptions {
  /** Where installed units are looked for (default: the user unit dir, then /etc/systemd/system). */
  units?: UnitLocation[];
  /** Whether systemctl exists (default: looked up on PATH); without it the unit is not checked. */
  hasSystemctl?: boolean;
  run?: Run;
  now?: number;
  /** Print one JSON object ({ ok, checks }) at the end instead of the lines. */
  json?: boolean;
  /** where managed settings are looked for (default /etc/claude-code) */
  managedSettingsDir?: string;
}

export function defaultUnitLocations(env: NodeJS.ProcessEnv): UnitLocation[] {
  return [
    { scope: "user", path: join(unitDirFor("user", env), UNIT_NAME) },
    { scope: "system", path: join(unitDirFor("system", env), UNIT_NAME) },
  ];
}

/** Prints every check as it completes; throws ExitError(1) when any failed. */
export async function runDoctor(flag: string | undefined, io: OpsIo, o: DoctorOptions = {}): Promise<void> {
  const env = io.env;
  const run = o.run ?? realRun;
  const checks: Check[] = [];
  const report = (c: Check) => {
    checks.push(c);
    if (!o.json) io.out(formatCheck(c));
  };
  const configPath = resolveConfigPath(flag, env, env.HOME || homedir());
  const loaded = loadConfigFile(configPath, { env, home: env.HOME || homedir() });
  report(
    loaded.ok
      ? loaded.warnings.length
        ? warn(
            "config",
            `${configPath}: deprecated key names (still read):\n    ${loaded.warnings.map(formatIssue).join("\n    ")}`,
            "rename them as each line says (docs/configuration.md, old names)",
          )
        : ok("config", configPath)
      : fail(
          "config",
          loaded.issues.map(formatIssue).join("\n    "),
          loaded.issues.some((i) => i.line === 0 && i.message.startsWith("cannot read"))
            ? "claude-failover init (writes one), or pass --config PATH"
            : "edit the file; `claude-failover config check` lists the same problems",
        ),
  );
  report(await checkTmux(env, run));
  if (loaded.ok) {
    const c = loaded.config;
    report(await checkCli(c, env, run));
    report(checkManagedSettings(o.managedSettingsDir));
    report(checkPoolPermissionMode(c));
    for (const s of checkSchedules(c, o.now ?? Date.now(), env.HOME || homedir())) report(s);
    for (const h of checkHomes(c, o.now ?? Date.now())) report(h);
    for (const h of checkLogins(c, o.now ?? Date.now())) report(h);
    report(checkStateDir(c));
    const unit = checkUnit(
      o.hasSystemctl ?? !!which("systemctl", env.PATH),
      o.units ?? defaultUnitLocations(env),
      configPath,
    );
    report(checkToken(c, env, configPath, unit.envFiles));
    report(await checkPort(c));
    const usage = await checkUsageEndpoint(c);
    if (usage) report(usage);
    report(unit.check);
  }
  io.out(
    o.json ? `${JSON.stringify({ ok: !checks.some((c) => c.status === "fail"), checks }, null, 2)}\n` : summary(checks),
  );
  if (checks.some((c) => c.status === "fail")) throw new ExitError(1, "");
}
