// Edits the `accounts:` list of a config file's text, keeping every comment, the key order and the
// layout of everything else (the `yaml` package's Document API round-trips them). Pure: text in, text out.
import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from "yaml";
import { ACCOUNT_NAME } from "../config/schema.js";

export type EditResult = { ok: true; text: string } | { ok: false; message: string };

export interface NewAccount {
  name: string;
  /** As it should read in the file ("~/claude-accounts/work" or an absolute path). */
  home: string;
  /** Default: 10 above the highest priority in the file (100 when none is set): the new account is tried after the others. */
  priority?: number;
}

function accountsSeq(doc: Document): YAMLSeq | string {
  if (doc.errors.length) return `the file is not valid YAML: ${doc.errors[0]!.message}`;
  if (!isMap(doc.contents)) return "the file is not a map of settings";
  const seq = doc.contents.get("accounts", true);
  if (!isSeq(seq)) return "it has no `accounts:` list";
  return seq;
}

function field(item: unknown, key: string): unknown {
  if (!isMap(item)) return undefined;
  const v = item.get(key, true);
  return isScalar(v) ? v.value : v;
}

/** Appends an account; refuses a bad or taken name, or a home another account uses. */
export function addAccountText(text: string, a: NewAccount, resolveHome: (h: string) => string): EditResult {
  if (!ACCOUNT_NAME.test(a.name))
    return {
      ok: false,
      message: `${JSON.stringify(a.name)} is not a usable account name: 1-32 letters, digits, '_' or '-', starting with a letter or digit`,
    };
  const doc = parseDocument(text);
  const seq = accountsSeq(doc);
  if (typeof seq === "string") return { ok: false, message: seq };
  let top: number | null = null;
  for (const item of seq.items) {
    const name = String(field(item, "name") ?? "");
    const home = field(item, "home");
    if (name.toLowerCase() === a.name.toLowerCase())
      return { ok: false, message: `there is already an account named ${name}` };
    if (typeof home === "string" && resolveHome(home) === resolveHome(a.home))
      return { ok: false, message: `account ${name} already uses the home ${home}` };
    const p = field(item, "priority");
    top = Math.max(top ?? 0, typeof p === "number" ? p : 100);
  }
  const entry = doc.createNode({ name: a.name, home: a.home, priority: a.priority ?? (top ?? 90) + 10 });
  seq.flow = false; // `accounts: []` would otherwise grow as one long line
  seq.add(entry);
  return { ok: true, text: doc.toString() };
}

/** Sets or clears `disabled: true` on an account (the first step of removing it: its sessions move away). */
export function setAccountDisabledText(text: string, name: string, disabled: boolean): EditResult {
  const doc = parseDocument(text);
  const seq = accountsSeq(doc);
  if (typeof seq === "string") return { ok: false, message: seq };
  const item = seq.items.find((i) => field(i, "name") === name);
  if (!isMap(item)) return { ok: false, message: `no account named ${name}` };
  if (disabled) item.set("disabled", true);
  else item.delete("disabled");
  return { ok: true, text: doc.toString() };
}

/** Removes an account; refuses the last one and one a dedicated session is pinned to. */
export function removeAccountText(text: string, name: string): EditResult {
  const doc = parseDocument(text);
  const seq = accountsSeq(doc);
  if (typeof seq === "string") return { ok: false, message: seq };
  const at = seq.items.findIndex((i) => field(i, "name") === name);
  if (at < 0) return { ok: false, message: `no account named ${name}` };
  if (seq.items.length === 1)
    return {
      ok: false,
      message: `${name} is the only account; add another one first (claude-failover accounts add NAME)`,
    };
  const root = doc.contents as YAMLMap;
  const pool = root.get("pool", true);
  // The deprecated pool.dedicated is still read (config/legacy-keys.ts), so it still pins.
  const pinned = [root.get("dedicated", true), isMap(pool) ? pool.get("dedicated", true) : undefined]
    .flatMap((seq) => (isSeq(seq) ? seq.items : []))
    .filter((d) => field(d, "account") === name)
    .map((d) => String(field(d, "name")));
  if (pinned.length)
    return {
      ok: false,
      message: `session(s) ${pinned.join(", ")} are pinned to ${name} (dedicated[].account); change or remove that first`,
    };
  seq.items.splice(at, 1);
  return { ok: true, text: doc.toString() };
}

/**
 * Appends a dedicated session to the top-level `dedicated:` list (created if missing); refuses a taken name
 * or project. A list under the deprecated name pool.dedicated is moved to `dedicated:` first (its entries and
 * comments kept; a `pool:` left empty is removed), so what this writes is the current shape.
 */
export function addDedicatedText(text: string, s: { name: string; project: string }): EditResult {
  const doc = parseDocument(text);
  if (doc.errors.length) return { ok: false, message: `the file is not valid YAML: ${doc.errors[0]!.message}` };
  if (!isMap(doc.contents)) return { ok: false, message: "the file is not a map of settings" };
  const root = doc.contents as YAMLMap;
  const moved = moveLegacyDedicated(doc, root);
  if (moved) return { ok: false, message: moved };
  if (!isSeq(root.get("dedicated", true))) root.set("dedicated", doc.createNode([]));
  const seq = root.get("dedicated", true) as unknown as YAMLSeq;
  for (const item of seq.items) {
    if (field(item, "name") === s.name) return { ok: false, message: `there is already a session named ${s.name}` };
    if (field(item, "project") === s.project)
      return { ok: false, message: `session ${String(field(item, "name"))} is already on ${s.project}` };
  }
  seq.flow = false;
  seq.add(doc.createNode({ name: s.name, project: s.project }));
  return { ok: true, text: doc.toString() };
}

/** pool.dedicated → dedicated in the document; a message when both are there (the loader refuses that file too). */
function moveLegacyDedicated(doc: Document, root: YAMLMap): string | null {
  const pool = root.get("pool", true);
  if (!isMap(pool) || !pool.has("dedicated")) return null;
  if (root.has("dedicated"))
    return "the file has both dedicated: and pool.dedicated (its deprecated name); keep dedicated: only";
  const at = pool.items.findIndex((p) => isScalar(p.key) && p.key.value === "dedicated");
  const [pair] = pool.items.splice(at, 1);
  if (pool.items.length === 0) root.delete("pool");
  root.set("dedicated", pair?.value ?? doc.createNode([]));
  return null;
}
