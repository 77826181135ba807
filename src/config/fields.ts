// Zod building blocks for config values, each with the message a person
// should read when the value is wrong. Messages are phrased to follow
// "file:line: key.path: " so they read as one sentence.

import { isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import { DURATION_HINT, tryParseDuration } from "./duration.js";

/** Environment variable names as POSIX shells accept them. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Render an offending value briefly for a message. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

/** Expand a leading "~" or "~/" to home; anything else is returned as is. */
export function expandHome(p: string, home: string): string {
  if (p === "~") return home;
  if (p.startsWith("~/")) return join(home, p.slice(2));
  return p;
}

/** An integer in [min, max] (max omitted = no upper bound). */
export function int(min: number, max?: number): z.ZodInt {
  const range = max === undefined ? `must be at least ${min}` : `must be between ${min} and ${max}`;
  const msg = (iss: { input?: unknown }) => `${range}, got ${describe(iss.input)}`;
  const base = z.int().min(min, { error: msg });
  return max === undefined ? base : base.max(max, { error: msg });
}

/** A number in [min, max]. */
export function num(min: number, max: number): z.ZodNumber {
  const msg = (iss: { input?: unknown }) => `must be between ${min} and ${max}, got ${describe(iss.input)}`;
  return z.number().min(min, { error: msg }).max(max, { error: msg });
}

/**
 * A duration string ("30s") read into milliseconds. min is the smallest
 * acceptable value in ms (1 for "must be longer than zero").
 */
export function duration(min = 0) {
  return z
    .string({
      error: (iss) => (iss.input === undefined ? undefined : `must be ${DURATION_HINT}, got ${describe(iss.input)}`),
    })
    .transform((text, ctx) => {
      const ms = tryParseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: "custom", message: `must be ${DURATION_HINT}, got ${describe(text)}` });
        return z.NEVER;
      }
      if (ms < min) {
        ctx.addIssue({ code: "custom", message: min === 1 ? "must be longer than 0" : `must be at least ${min}ms` });
        return z.NEVER;
      }
      return ms;
    });
}

/** A duration with a default given the way a person would write it. */
export function durationOr(def: string, min = 0) {
  const ms = tryParseDuration(def);
  if (ms === undefined) throw new Error(`bad default duration ${def}`); // programming error
  return duration(min).default(ms);
}

/** A path that must end up absolute after "~" expansion; normalized. */
export function absPath(home: string) {
  return z.string().transform((text, ctx) => {
    const p = expandHome(text, home);
    if (!isAbsolute(p)) {
      ctx.addIssue({ code: "custom", message: `must be an absolute path (or start with ~/), got ${describe(text)}` });
      return z.NEVER;
    }
    return resolve(p);
  });
}

/**
 * Either a bare name (looked up elsewhere: PATH for a binary, a tmux socket
 * name) or, when it contains "/", a path that must end up absolute, so the
 * daemon's working directory never matters.
 */
export function nameOrAbsPath(home: string, allowEmpty: boolean) {
  return z.string().transform((text, ctx) => {
    if (text.length === 0 && !allowEmpty) {
      ctx.addIssue({ code: "custom", message: "must not be empty" });
      return z.NEVER;
    }
    if (!text.includes("/") && !text.startsWith("~")) return text;
    const p = expandHome(text, home);
    if (!isAbsolute(p)) {
      ctx.addIssue({ code: "custom", message: `must be a plain name or an absolute path, got ${describe(text)}` });
      return z.NEVER;
    }
    return resolve(p);
  });
}

/** A path relative to the real home, staying inside it (for link_files). */
export function homeRelativePath() {
  return z
    .string()
    .refine((p) => p.length > 0 && !isAbsolute(p) && !p.startsWith("~") && !p.split("/").includes(".."), {
      error: (iss) => `must be a path relative to your home without "..", got ${describe(iss.input)}`,
    });
}

/** A list of strings (CLI arguments and the like). */
export function stringList() {
  return z.array(z.string()).default([]);
}

/** A string matching a pattern, with a message explaining the pattern. */
export function matching(re: RegExp, explain: string) {
  return z.string().regex(re, { error: (iss) => `${explain}, got ${describe(iss.input)}` });
}

/** Parse "host:port" / "[v6]:port". undefined when malformed or port out of range. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

/** True for hosts that only accept connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** An http(s) URL; a trailing slash is dropped so callers can append "/api/...". */
export function httpUrl() {
  return z.string().transform((text, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      ctx.addIssue({ code: "custom", message: `must be an http:// or https:// URL, got ${describe(text)}` });
      return z.NEVER;
    }
    return text.replace(/\/+$/, "");
  });
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  array: "a list",
  object: "a map",
  record: "a map",
};

/**
 * Messages for the generic cases (wrong type, missing key, enum, sizes);
 * field-specific messages set on the schema take precedence over this.
 */
export function errorMap(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case "invalid_type": {
      if (iss.input === undefined) return "is required";
      // z.int() reports a non-number as expected "number"; say what is really wanted.
      const format = (iss.inst as { format?: unknown } | undefined)?.format;
      const expected = format === "safeint" ? "int" : iss.expected;
      return `must be ${EXPECTED[expected] ?? expected}, got ${describe(iss.input)}`;
    }
    case "invalid_value":
      return `must be one of ${iss.values.map((v) => String(v)).join(", ")}, got ${describe(iss.input)}`;
    case "invalid_key":
      return `${describe(iss.input)} is not a valid environment variable name`;
    case "unrecognized_keys":
      return "unknown key";
    case "too_small":
      return iss.origin === "array" ? `must have at least ${iss.minimum} entries` : `must be at least ${iss.minimum}`;
    case "too_big":
      return iss.origin === "array" ? `must have at most ${iss.maximum} entries` : `must be at most ${iss.maximum}`;
    default:
      return undefined;
  }
}
