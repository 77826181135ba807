import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  realpathSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { updateClaudeJson, type UpdateOptions } from "./claude-json.js";

/** Conversation state shared by every account home, so `--resume` works across accounts. */
export const SHARED_DIRS = ["projects", "todos", "shell-snapshots", "file-history", "plans"] as const;

export interface HomeSpec {
  account: string;
  home: string;
  managed: boolean;
  linkFiles: string[];
}

export interface HomeReport {
  account: string;
  actions: string[];
  warnings: string[];
}

export function sharedDirFor(sharedProjectsDir: string, name: (typeof SHARED_DIRS)[number]): string {
  return name === "projects" ? sharedProjectsDir : join(dirname(sharedProjectsDir), name);
}

/**
 * Prepares an account home; safe to run at every start. Unmanaged homes (the user's own ~/.claude) are
 * never touched. Credentials are never read, copied or linked here.
 */
export function prepareHome(
  spec: HomeSpec,
  ctx: { sharedProjectsDir: string; projects: string[]; realHome: string; claudeJson?: UpdateOptions },
): HomeReport {
  const report: HomeReport = { account: spec.account, actions: [], warnings: [] };
  if (!spec.managed) return report;
  mkdirSync(join(spec.home, ".claude"), { recursive: true, mode: 0o700 });
  for (const d of SHARED_DIRS)
    linkShared(join(spec.home, ".claude", d), sharedDirFor(ctx.sharedProjectsDir, d), report);
  seedClaudeJson(join(spec.home, ".claude.json"), ctx.projects, report, ctx.claudeJson);
  for (const rel of spec.linkFiles) linkFromRealHome(rel, spec.home, ctx.realHome, report);
  return report;
}

function linkShared(at: string, target: string, report: HomeReport): void {
  mkdirSync(target, { recursive: true, mode: 0o700 });
  const st = lstatOrNull(at);
  if (st?.isSymbolicLink()) {
    if (resolve(dirname(at), readlinkSync(at)) === resolve(target)) return;
    unlinkSync(at); // a link elsewhere holds no data of its own
    report.actions.push(`relinked ${at}`);
  } else if (st?.isDirectory()) {
    // The CLI recreates a real dir if the link vanished: keep what it wrote, then link.
    mergeInto(at, target, report);
    rmdirSync(at);
    report.actions.push(`merged ${at} into ${target}`);
  } else if (st) {
    report.warnings.push(`${at} is a file, expected a link to ${target}; left alone`);
    return;
  }
  symlinkSync(target, at);
  report.actions.push(`linked ${at} -> ${target}`);
}

// Moves every entry of `from` into `to`; nothing is dropped: a clash of two files keeps both.
function mergeInto(from: string, to: string, report: HomeReport): void {
  mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const sst = lstatSync(src);
    const dst0 = lstatOrNull(dst);
    if (!dst0) {
      renameSync(src, dst);
    } else if (sst.isDirectory() && dst0.isDirectory()) {
      mergeInto(src, dst, report);
      rmdirSync(src);
    } else {
      let alt = `${dst}.merged`;
      for (let i = 1; existsSync(alt); i++) alt = `${dst}.merged-${i}`;
      renameSync(src, alt);
      report.warnings.push(`kept both copies of ${name}: ${alt}`);
    }
  }
}

// Onboarding done and every configured project trusted, so the CLI reaches its prompt unattended.
// Keys the CLI wrote itself are kept; the file is only rewritten when something changes, then merged into
// its latest content under the CLI's lock; one that does not parse is never replaced (claude-json.ts).
export function seedClaudeJson(path: string, projects: string[], report: HomeReport, opts: UpdateOptions = {}): void {
  const keys = trustKeys(projects);
  const r = updateClaudeJson(
    path,
    (doc) => {
      const before = JSON.stringify(doc);
      doc.hasCompletedOnboarding = true;
      if (doc.theme === undefined) doc.theme = "dark";
      const map = (
        doc.projects && typeof doc.projects === "object" && !Array.isArray(doc.projects) ? doc.projects : {}
      ) as Record<string, Record<string, unknown>>;
      for (const p of keys) {
        const entry = map[p] && typeof map[p] === "object" ? map[p] : {};
        entry.hasTrustDialogAccepted = true;
        entry.hasCompletedProjectOnboarding ??= true;
        map[p] = entry;
      }
      doc.projects = map;
      return JSON.stringify(doc) !== before;
    },
    opts,
  );
  if (r.tornReads) report.warnings.push(`${path} read ${r.tornReads} time(s) while not valid JSON (a CLI writing it)`);
  if (r.outcome === "written") report.actions.push(`seeded ${path}`);
  else if (r.outcome === "not_json" || r.outcome === "locked") report.warnings.push(r.reason);
}

// Trust is keyed by path as the CLI sees its cwd; symlinked and real paths are separate keys.
function trustKeys(projects: string[]): string[] {
  const keys = new Set<string>();
  for (const p of projects) {
    keys.add(p);
    try {
      keys.add(realpathSync(p));
    } catch {
      /* project not created yet */
    }
  }
  return [...keys];
}

function linkFromRealHome(rel: string, home: string, realHome: string, report: HomeReport): void {
  const src = join(realHome, rel);
  const at = join(home, rel);
  if (resolve(src) === resolve(at) || !existsSync(src)) return;
  const st = lstatOrNull(at);
  if (st?.isSymbolicLink() && resolve(dirname(at), readlinkSync(at)) === resolve(src)) return;
  if (st) {
    report.warnings.push(`${at} exists and is not a link to ${src}; left alone`);
    return;
  }
  mkdirSync(dirname(at), { recursive: true, mode: 0o700 });
  symlinkSync(src, at);
  report.actions.push(`linked ${at} -> ${src}`);
}

function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}
