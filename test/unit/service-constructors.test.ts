// Issue 15.1, kept so: every service takes one options object. A source check over the composition roots
// (daemon.ts, and inbox/inbox-service.ts, which wires the pool): each class under src/ they build with
// `new X(` takes at most two constructor parameters, `(deps, opts)`: its collaborators, then its
// parameters (SessionService, SwapService, Pool, ...). A constructor back to a positional list fails here.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

/** The files that wire services together. */
const ROOTS = ["daemon.ts", "inbox/inbox-service.ts"];

/** Classes built there that may take more than two parameters, and why. */
const ALLOWED: Record<string, string> = {
  CfError: "an error value (code, message, detail), not a service",
};

/** The text of a constructor's parameter list, its comments dropped; null when the class declares none. */
export function constructorParams(source: string, cls: string): string | null {
  const start = new RegExp(`\\bclass\\s+${cls}\\b`).exec(source);
  if (!start) throw new Error(`class ${cls} not found`);
  const body = source.slice(start.index);
  const next = /\n(?:export\s+)?(?:abstract\s+)?class\s/.exec(body.slice(1));
  const own = next ? body.slice(0, next.index + 1) : body;
  const c = /\bconstructor\s*\(/.exec(own);
  if (!c) return null;
  let depth = 0;
  let out = "";
  for (let i = c.index + c[0].length; i < own.length; i++) {
    const ch = own[i]!;
    if (own.startsWith("//", i)) {
      i = own.indexOf("\n", i);
      continue;
    }
    if (own.startsWith("/*", i)) {
      i = own.indexOf("*/", i) + 1;
      continue;
    }
    if ("([{<".includes(ch)) depth++;
    else if (")]}>".includes(ch) && !(ch === ">" && own[i - 1] === "=")) {
      if (depth === 0) return out;
      depth--;
    }
    out += ch;
  }
  throw new Error(`constructor of ${cls} not closed`);
}

/** How many parameters a parameter list holds (commas at its top level; a trailing comma ignored). */
export function paramCount(params: string): number {
  let depth = 0;
  const parts = [""];
  for (let i = 0; i < params.length; i++) {
    const ch = params[i]!;
    if ("([{<".includes(ch)) depth++;
    else if (")]}>".includes(ch) && !(ch === ">" && params[i - 1] === "=")) depth--;
    if (ch === "," && depth === 0) parts.push("");
    else parts[parts.length - 1] += ch;
  }
  return parts.filter((p) => p.trim() !== "").length;
}

/** Each class `root` builds with `new X(` and imports from a file under src/ (or declares itself): X → file. */
function builtClasses(rootPath: string, text: string): Map<string, string> {
  const out = new Map<string, string>();
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+["'](\.[^"']+)["']/g))
    for (const name of m[1]!.split(",")) {
      const local = name
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .pop()!
        .trim();
      if (local) imports.set(local, join(dirname(rootPath), m[2]!.replace(/\.js$/, ".ts")));
    }
  for (const m of text.matchAll(/\bnew\s+([A-Z]\w*)\s*\(/g)) {
    const cls = m[1]!;
    const file = imports.get(cls) ?? (new RegExp(`\\bclass\\s+${cls}\\b`).test(text) ? rootPath : null);
    if (file) out.set(cls, file);
  }
  return out;
}

/** Each class the roots build (under src/), with its file and its constructor's parameter count. */
function built(roots: string[]): { cls: string; file: string; n: number }[] {
  return roots.flatMap((root) => {
    const rootPath = join(SRC, root);
    return [...builtClasses(rootPath, readFileSync(rootPath, "utf8"))].map(([cls, file]) => {
      assert.ok(existsSync(file), `${cls}: ${file} exists`);
      const params = constructorParams(readFileSync(file, "utf8"), cls);
      return { cls, file: relative(SRC, file), n: params === null ? 0 : paramCount(params) };
    });
  });
}

/** `Class (file): n parameters` for every built class over two parameters outside the allowlist. */
function positional(roots: string[]): string[] {
  return built(roots)
    .filter((b) => b.n > 2 && !(b.cls in ALLOWED))
    .map((b) => `${b.cls} (${b.file}): ${b.n} parameters`);
}

describe("services take (deps, opts), not positional parameters", () => {
  it("every class under src/ the composition roots build takes at most two constructor parameters", () => {
    const all = built(ROOTS);
    for (const cls of ["SessionService", "Pool", "Dispatcher", "Spool", "ControlApi", "HttpServer", "Daemon"])
      assert.ok(
        all.some((b) => b.cls === cls),
        `${cls} is seen as built`,
      );
    assert.deepEqual(positional(ROOTS), []);
    // The allowlist holds only what needs it: classes built there that do take more than two.
    for (const cls of Object.keys(ALLOWED))
      assert.ok(
        all.some((b) => b.cls === cls && b.n > 2),
        `${cls}: allowed, but not built with more than two parameters`,
      );
  });

  it("counts a positional constructor's parameters, not the commas inside their types, defaults and comments", () => {
    const positional = `
export class Spool {
  constructor(
    readonly dir: string,
    private readonly handle: (ev: { a: number, b: string }) => void,
    /** told once, after a deferral, with the error */
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
    private readonly onResumed?: (info: { deferredMs: number; error: string }) => void,
    private readonly watchDir: WatchDir = watchDirEntries,
  ) {}
}`;
    assert.equal(paramCount(constructorParams(positional, "Spool")!), 6);
    const shaped = `
class Pool {
  private x = new Map<string, number>();
  constructor(deps: PoolDeps, opts: PoolOptions = { prefix: "a-", mode: null }) {
    this.x = deps.x;
  }
}
export class Other {
  constructor(a: number, b: number, c: number) {}
}`;
    assert.equal(paramCount(constructorParams(shaped, "Pool")!), 2);
    assert.equal(
      constructorParams("export class Plain {\n  x = 1;\n}\nclass Next {\n  constructor(a, b, c) {}\n}", "Plain"),
      null,
    );
  });
});
