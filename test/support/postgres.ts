// A private PostgreSQL for a test file: Debian's `postgresql` package (/usr/lib/postgresql/<major>/bin),
// `initdb` in a temp dir, the server listening only on a unix socket in that dir (no TCP port, so test
// files never collide), fsync off (a test database need not survive a power cut). One start per test file;
// each test takes a fresh database from `createDatabase`. CF_PG_BIN=<dir> picks another bin dir (one without
// initdb makes the tests skip, or fail under CI: how the missing-binaries path is checked).
//
// Root: initdb and postgres refuse to run as root ("cannot be run as root"). As root the binaries run as
// the `postgres` system user the package creates (child_process' uid/gid: libuv also drops root's
// supplementary groups), and the temp dir is chowned to it; the test process (root) still reaches the
// socket and the files. As any other user they run as that user. This is what works on Debian 12 with
// postgresql 15 (the package's own cluster is never touched: `pg_ctlcluster` is not used).
//
// We spawn `postgres` ourselves instead of `pg_ctl start` so the server is this process's child: `stop()`
// signals it and waits for it, and an exit hook stops it if the test process ends without cleanup.
//
// Auth (pg_hba.conf): the bootstrap superuser `postgres` connects without a password (trust, socket only,
// the dir is 0700); every other role needs its password (scram-sha-256), so the app role of
// docs/multi-box.md is tested with a real password carried in its URL.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { it } from "node:test";
import pg from "pg";
import { waitFor } from "./wait.js";

const PG_ROOT = "/usr/lib/postgresql";

/** The newest installed `/usr/lib/postgresql/<major>/bin` holding initdb and postgres, or null. */
export function findPostgresBin(): string | null {
  const fromEnv = process.env.CF_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, "initdb")) ? fromEnv : null;
  let majors: string[];
  try {
    majors = readdirSync(PG_ROOT)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    return null;
  }
  for (const m of majors) {
    const bin = join(PG_ROOT, m, "bin");
    if (existsSync(join(bin, "initdb")) && existsSync(join(bin, "postgres"))) return bin;
  }
  return null;
}

/** Why the PostgreSQL tests cannot run here, or null when they can. */
export function postgresMissing(): string | null {
  if (findPostgresBin()) return null;
  return `PostgreSQL server binaries missing under ${PG_ROOT}/*/bin (apt-get install postgresql)`;
}

/**
 * Why the PostgreSQL tests cannot run here (null when they can). Under CI a missing PostgreSQL is a failure:
 * this registers a failing test saying so, named after `what`.
 */
export function postgresGate(what: string): string | null {
  const missing = postgresMissing();
  if (missing && process.env.CI) {
    it(`${what} (postgres): PostgreSQL is installed`, () =>
      assert.fail(`${missing}: CI must run the PostgreSQL tests (scripts/test.sh installs it as root)`));
  }
  return missing;
}

export interface TestPostgres {
  /** the directory holding the socket (`host` for pg) */
  socketDir: string;
  /** connection settings of the superuser `postgres` (socket, trust) */
  admin(database?: string): pg.ClientConfig;
  /**
   * A fresh database owned by a fresh least-privilege role (NOSUPERUSER NOCREATEDB NOCREATEROLE, its own
   * schema `cf` as search_path, as docs/multi-box.md sets it up). Returns a postgresql:// URL with the role's
   * password, as a box would read it from store.postgres_url_env.
   */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown), keeping the data dir for `start()`. */
  stop(): Promise<void>;
  /** Starts it again on the same data dir and socket. */
  start(): Promise<void>;
  /** Stops it and removes every file. */
  destroy(): Promise<void>;
}

/**
 * initdb in a fresh temp dir and starts the server on a socket there; waits (30 s at most) until it
 * accepts connections. Throws with initdb's or the server's output when either fails.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(postgresMissing()!);
  const root = mkdtempSync(join(tmpdir(), "cf-pg-"));
  const data = join(root, "data");
  const socketDir = root;
  const asUser = runAs();
  if (asUser) chownSync(root, asUser.uid, asUser.gid);
  chmodSync(root, 0o700);
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8", TZ: "UTC" };
  const init = spawnSync(
    join(bin, "initdb"),
    ["-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--no-sync", "-N"],
    { env, encoding: "utf8", ...(asUser ?? {}), timeout: 60_000 },
  );
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr || init.stdout}`);
  }
  // Superuser over the socket without a password; everyone else with a password.
  writeFileSync(join(data, "pg_hba.conf"), "local all postgres trust\nlocal all all scram-sha-256\n");
  if (asUser) chownSync(join(data, "pg_hba.conf"), asUser.uid, asUser.gid);

  let child: ChildProcess | null = null;
  let output = "";
  const stopSync = (): void => {
    if (child && child.exitCode === null) child.kill("SIGQUIT");
  };
  process.once("exit", stopSync);

  const start = async (): Promise<void> => {
    output = "";
    const c = spawn(
      join(bin, "postgres"),
      [
        "-D",
        data,
        "-k",
        socketDir,
        "-c",
        "listen_addresses=",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "shared_buffers=16MB",
        "-c",
        "max_connections=60",
        "-c",
        "logging_collector=off",
      ],
      { env, stdio: ["ignore", "pipe", "pipe"], ...(asUser ?? {}) },
    );
    child = c;
    c.stdout.on("data", (b: Buffer) => {
      output += b.toString();
    });
    c.stderr.on("data", (b: Buffer) => {
      output += b.toString();
    });
    const ready = await waitFor(
      async () => {
        if (c.exitCode !== null) return "exited";
        const client = new pg.Client({ host: socketDir, user: "postgres", database: "postgres" });
        try {
          await client.connect();
          await client.end();
          return "ready";
        } catch {
          await client.end().catch(() => {});
          return false;
        }
      },
      30_000,
      "postgres accepting connections",
    );
    if (ready === "exited") throw new Error(`postgres exited (${c.exitCode}): ${output.slice(-2000)}`);
  };

  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.kill("SIGINT"); // fast shutdown: clients are disconnected, no waiting for them
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
    if (c.exitCode === null) {
      c.kill("SIGKILL");
      await exited;
    }
  };

  await start();
  let n = 0;
  const admin = (database = "postgres"): pg.ClientConfig => ({ host: socketDir, user: "postgres", database });
  return {
    socketDir,
    admin,
    async createDatabase(): Promise<string> {
      n += 1;
      const db = `cf_test_${process.pid}_${n}`;
      const role = `cf_app_${process.pid}_${n}`;
      const password = `pw-${n}-${Math.random().toString(36).slice(2)}`;
      const su = new pg.Client(admin());
      await su.connect();
      try {
        // The setup of docs/multi-box.md, step by step (identifiers are ours, so no quoting issue).
        await su.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
        await su.query(`CREATE DATABASE ${db}`);
        await su.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
        await su.query(`GRANT CONNECT ON DATABASE ${db} TO ${role}`);
      } finally {
        await su.end();
      }
      const inDb = new pg.Client(admin(db));
      await inDb.connect();
      try {
        await inDb.query("REVOKE ALL ON SCHEMA public FROM PUBLIC");
        await inDb.query(`CREATE SCHEMA cf AUTHORIZATION ${role}`);
        await inDb.query(`ALTER ROLE ${role} IN DATABASE ${db} SET search_path = cf`);
      } finally {
        await inDb.end();
      }
      return `postgresql://${role}:${encodeURIComponent(password)}@/${db}?host=${encodeURIComponent(socketDir)}`;
    },
    stop,
    start,
    async destroy(): Promise<void> {
      await stop();
      process.removeListener("exit", stopSync);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** As root: the `postgres` system user (uid/gid for spawn); otherwise null (run as ourselves). */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string): number => {
    const r = spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
    if (r.status !== 0)
      throw new Error(
        `running as root and there is no 'postgres' user to run initdb as (${r.stderr.trim()}): install postgresql, which creates it`,
      );
    return Number(r.stdout.trim());
  };
  return { uid: id("-u"), gid: id("-g") };
}
