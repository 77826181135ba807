// Issue 15.1, kept so: the composition root wires in one pass. A source check on src/daemon.ts (the
// behaviour itself is covered by the e2e tests): no setChooser, no service field or callback assigned
// after construction, no I/O in the constructor, the chooser built before the services that use it, and
// the config → parameter mappings only in config/params.ts.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DAEMON = readFileSync(join(ROOT, "src", "daemon.ts"), "utf8");

/** The text of the Daemon constructor's body (braces counted from its opening brace). */
function constructorBody(src: string): string {
  const at = src.indexOf("private constructor(");
  assert.ok(at >= 0, "no private constructor in daemon.ts");
  const open = src.indexOf(") {", at) + 2;
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === "{") depth++;
    else if (src[i] === "}" && --depth === 0) return src.slice(open + 1, i);
  }
  throw new Error("unbalanced constructor");
}

/** What the rules find wrong in a daemon source; [] when none. */
function wiringProblems(src: string): string[] {
  const out: string[] = [];
  const body = constructorBody(src);
  if (/\bsetChooser\(/.test(src)) out.push("setChooser( is called");
  // this.<service>.<field> = … (also a.b.c =): a field or callback set on a service after it was built.
  for (const m of body.matchAll(/\bthis\.\w+(?:\.\w+)+\s*(?:\?\?|\|\||&&)?=(?![=>])/g))
    out.push(`assigned after construction: ${m[0]}`);
  for (const name of ["restoreSource", "afterRecreate", "onStep", "onDispatched", "onUpdate", "cliProblem"]) {
    if (new RegExp(`\\.${name}\\s*=(?!=)`).test(src)) out.push(`${name} assigned after construction`);
  }
  if (/plugins\.metrics\s*=(?!=)/.test(src)) out.push("plugins.metrics assigned");
  const io =
    /\b(ensurePrivateDir|openDb|writeHookFiles|writeStatusLineFiles|resolveCli|readToken|readFileSync|writeFileSync|mkdirSync|rmSync)\(|new (LoginLedger|LaunchEnvFiles|WriteFailureWatch|Store)\(|InstanceLock\.|\.(start|listen|connect|prepare)\(/g;
  for (const m of body.matchAll(io)) out.push(`I/O in the constructor: ${m[0]}`);
  const order = [
    "new QuotaChooser(",
    "new SessionService(",
    "new SwapService(",
    "new LimitReactor(",
    "new QuotaService(",
  ].map((s) => [s, body.indexOf(s)] as const);
  for (const [s, i] of order) if (i < 0) out.push(`${s} not in the constructor`);
  for (let k = 1; k < order.length; k++)
    if (order[k]![1] < order[k - 1]![1]) out.push(`${order[k]![0]} before ${order[k - 1]![0]}`);
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.isFile() && e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("daemon wiring (issue 15.1)", () => {
  it("src/daemon.ts: one pass, no setter, no post-construction callback, no I/O in the constructor", () => {
    assert.deepEqual(wiringProblems(DAEMON), []);
  });

  it("the check finds each kind of problem in a daemon written the old way", () => {
    // The constructor's opening, however it is formatted (its parameters hold no parentheses).
    const old = DAEMON.replace(
      /private constructor\([^()]*\)\s*\{/,
      (open) =>
        `${open}\n` +
        "    ensurePrivateDir(this.paths.stateDir);\n    this.sessions.setChooser(this.quota);\n" +
        "    this.sessions.restoreSource = (name) => null;\n    this.api.plugins.metrics = () => this.metrics.render();\n    this.inbox.dispatcher.onDispatched = () => {};\n",
    );
    assert.notEqual(old, DAEMON, "the constructor line the check edits is still there");
    const problems = wiringProblems(old).join("\n");
    for (const what of [
      "setChooser",
      "this.sessions.restoreSource =",
      "plugins.metrics",
      "onDispatched",
      "I/O in the constructor: ensurePrivateDir(",
    ]) {
      assert.ok(problems.includes(what), `not found: ${what}\n${problems}`);
    }
    const swapped = DAEMON.replace("new QuotaChooser(", "new QuotaChooserX(");
    assert.ok(wiringProblems(swapped).some((p) => p.startsWith("new QuotaChooser( not in")));
  });

  it("no service has a setChooser; config is mapped to parameters only in config/params.ts", () => {
    const found: string[] = [];
    const files = tsFiles(join(ROOT, "src"));
    assert.ok(
      files.some((f) => f.endsWith(join("src", "config", "params.ts"))) && files.length > 50,
      `src/ read: ${files.length} files`,
    );
    for (const f of files) {
      const rel = relative(ROOT, f);
      const text = readFileSync(f, "utf8");
      if (/\bsetChooser\b/.test(text)) found.push(`${rel}: setChooser`);
      if (rel === join("src", "config", "params.ts")) continue;
      for (const m of text.matchAll(
        /\bfunction (pollParams|policyParams|swapTuning|sessionTuning|tuning|dispatchSettings|httpLimits|limitParams|accountLimits)\(/g,
      )) {
        found.push(`${rel}: function ${m[1]}`);
      }
    }
    assert.deepEqual(found, []);
  });
});
