// The control plane sits on top (issue 15 point 3): the services it fronts never import it. Only the
// dashboard (ui/, itself a front end over the same facade), the operator commands (ops/) and the composition
// root may. A source scan, like pane-seam.test.ts.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));
const MAY_IMPORT_CONTROL = ["control/", "ui/", "ops/", "cli/", "daemon.ts", "reload.ts"];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The files (relative to src/) outside MAY_IMPORT_CONTROL that import from control/. */
export function controlImporters(files: { path: string; text: string }[]): string[] {
  return files
    .filter((f) => !MAY_IMPORT_CONTROL.some((p) => f.path.startsWith(p)))
    .filter((f) => /from "(\.\.\/)+control\//.test(f.text))
    .map((f) => f.path);
}

it("no service imports the control plane (inbox, pool, sessions, quota, store, ... sit below it)", () => {
  const files = tsFiles(SRC).map((p) => ({ path: relative(SRC, p), text: readFileSync(p, "utf8") }));
  assert.deepEqual(controlImporters(files), []);
});

it("the check sees such an import (the inbox's enqueue type once came from control/control-api.ts)", () => {
  const text = 'import type { EnqueueInput } from "../control/control-api.js";';
  assert.deepEqual(controlImporters([{ path: "inbox/inbox-service.ts", text }]), ["inbox/inbox-service.ts"]);
  assert.deepEqual(controlImporters([{ path: "ui/ui-view.ts", text }]), []);
});
