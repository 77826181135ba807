import type { Store } from "../store/store.js";
import type { AccountRow, AccountState } from "../store/types.js";
import type { Clock } from "../util/clock.js";
import { CfError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { credentialsFingerprint, readCredentials, type CredentialsRead } from "./credentials.js";
import { prepareHome } from "./homes.js";

/**
 * Reads of a credentials file that does not parse (or cannot be read) before the account is revoked:
 * the CLI rewrites the file when it refreshes its token, and a read that lands mid-write must not
 * revoke the account and hard-move all its sessions. One read per sweep (2 s): about 4 s of grace.
 */
export const CREDENTIAL_READS_BEFORE_REVOKE = 3;

export interface AccountConfig {
  name: string;
  home: string;
  priority: number;
  managed: boolean;
  disabled: boolean;
  limits: { hourly_msgs: number; weekly_msgs: number };
  link_files: string[];
  /** This account's own thresholds (0..1); undefined = the quota ones (config accounts[].window_*_threshold). */
  window_5h_threshold?: number;
  window_week_threshold?: number;
}

export interface AccountView {
  name: string;
  home: string;
  priority: number;
  state: AccountState;
  stateUntil: number | null;
  stateReason: string | null;
  credentials: { present: boolean; expiresAt: number | null; subscriptionType: string | null; problem: string | null };
}

/** AccountService's collaborators (it has no parameters; configure() gives it the accounts). */
export interface AccountDeps {
  store: Store;
  clock: Clock;
  log: Logger;
}

/**
 * Account state machine, persisted: active, cooldown (until), exhausted (until reset), revoked (needs
 * login; fresh credentials bring it back), disabled (by the operator or the config).
 */
export class AccountService {
  private configs = new Map<string, AccountConfig>();
  /** Consecutive failed reads of a present credentials file, per account. */
  private readonly badReads = new Map<string, number>();

  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(deps: AccountDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.log = deps.log;
  }

  configure(accounts: AccountConfig[]): void {
    this.configs = new Map(accounts.map((a) => [a.name, a]));
    const now = this.clock.now();
    for (const a of accounts) {
      const row = this.store.ensureAccount(a.name, now);
      if (a.disabled && row.state !== "disabled") this.setState(a.name, "disabled", null, "disabled in config");
      if (!a.disabled && row.state === "disabled" && row.stateReason === "disabled in config") {
        this.setState(a.name, "active", null, "enabled in config");
      }
    }
    this.refreshCredentials();
  }

  names(): string[] {
    return [...this.configs.keys()];
  }

  config(name: string): AccountConfig | undefined {
    return this.configs.get(name);
  }

  credentials(name: string): CredentialsRead {
    const c = this.configs.get(name);
    if (!c) return { ok: false, reason: "missing", detail: "unknown account" };
    return readCredentials(c.home);
  }

  /**
   * A home with no credentials is reported as revoked ("needs login"), not fatal. A file that does not
   * parse is read again at the next sweeps (CREDENTIAL_READS_BEFORE_REVOKE) before that. A revoked
   * account comes back only when its credentials file has changed since the revocation (a new login,
   * a refreshed token): the file the server refused, still in place, must not revive it at every sweep.
   */
  refreshCredentials(): void {
    for (const a of this.configs.values()) {
      const row = this.row(a.name);
      const creds = readCredentials(a.home);
      if (creds.ok) {
        this.badReads.delete(a.name);
        if (row.state !== "revoked") continue;
        if (row.revokedCreds !== null && credentialsFingerprint(a.home) === row.revokedCreds) continue;
        this.setState(a.name, "active", null, "credentials changed");
        continue;
      }
      if (row.state === "revoked" || row.state === "disabled") {
        this.badReads.delete(a.name);
        continue;
      }
      if (creds.reason !== "missing") {
        const n = (this.badReads.get(a.name) ?? 0) + 1;
        this.badReads.set(a.name, n);
        if (n < CREDENTIAL_READS_BEFORE_REVOKE) {
          this.log.warn(
            { account: a.name, read: n, problem: creds.detail },
            "credentials unreadable; reading again before revoking",
          );
          continue;
        }
      }
      this.badReads.delete(a.name);
      this.setState(a.name, "revoked", null, `needs login: ${creds.detail}`);
    }
  }

  private fingerprint(name: string): string | null {
    const c = this.configs.get(name);
    return c ? credentialsFingerprint(c.home) : null;
  }

  /**
   * Prepares every configured account's home (homes.ts prepareHome: shared project dirs linked, the
   * projects trusted, link_files linked; unmanaged homes are left alone). A home that can't be prepared
   * revokes its account ("home not usable: …"); one revoked only for that is active again once it can be
   * (the credentials sweep revokes it again if its login is missing). Never throws.
   */
  prepareHomes(ctx: { sharedProjectsDir: string; projects: string[]; realHome: string }): void {
    for (const a of this.configs.values()) {
      try {
        const r = prepareHome({ account: a.name, home: a.home, managed: a.managed, linkFiles: a.link_files }, ctx);
        for (const w of r.warnings) this.log.warn({ account: a.name }, w);
        if (r.actions.length)
          this.store.appendEvent(this.clock.now(), "account.home_prepared", null, a.name, { actions: r.actions });
        const row = this.row(a.name);
        if (row.state === "revoked" && (row.stateReason ?? "").startsWith("home not usable"))
          this.setState(a.name, "active", null, "home prepared");
      } catch (e) {
        this.log.error({ account: a.name, err: errorMessage(e) }, "preparing account home failed");
        this.setState(a.name, "revoked", null, `home not usable: ${errorMessage(e)}`);
      }
    }
  }

  /**
   * The operator's enable/disable (CLI, MCP, /trigger/account): disabled → active, or anything → disabled
   * (its sessions are moved off by the next quota tick). Returns the state after. Throws no_such_account.
   */
  setEnabled(name: string, enable: boolean): { ok: true; account: string; state: AccountState } {
    if (!this.config(name)) throw new CfError("no_such_account", `no account named ${name}`);
    const row = this.row(name);
    if (enable && row.state === "disabled") this.setState(name, "active", null, "enabled by operator");
    if (!enable && row.state !== "disabled") this.setState(name, "disabled", null, "disabled by operator");
    return { ok: true, account: name, state: this.row(name).state };
  }

  row(name: string): AccountRow {
    return this.store.getAccount(name) ?? this.store.ensureAccount(name, this.clock.now());
  }

  setState(name: string, state: AccountState, until: number | null, reason: string | null): void {
    const prev = this.store.getAccount(name);
    const now = this.clock.now();
    this.store.setAccountState(name, state, until, reason, now);
    // Remember which credentials file was revoked (whatever revoked it: a missing or bad file, a token
    // the server refused, an unusable home), so only a changed file brings the account back.
    if (state === "revoked" && prev?.state !== "revoked") this.store.setRevokedCreds(name, this.fingerprint(name));
    else if (state !== "revoked" && prev?.revokedCreds) this.store.setRevokedCreds(name, null);
    if (prev?.state !== state || prev?.stateUntil !== until) {
      this.store.appendEvent(now, "account.state", null, name, { from: prev?.state ?? null, to: state, until, reason });
      this.log.info({ account: name, from: prev?.state, to: state, until, reason }, "account state");
    }
  }

  /**
   * Timed states end by themselves: an exhausted account past its reset cools down for
   * `reactivateCooldownMs` (figures lag a reset), then becomes active; a cooldown past its time, active.
   */
  expireStates(reactivateCooldownMs = 0): string[] {
    const now = this.clock.now();
    const revived: string[] = [];
    for (const name of this.configs.keys()) {
      const r = this.row(name);
      if (r.stateUntil === null || r.stateUntil > now) continue;
      if (r.state === "exhausted" && reactivateCooldownMs > 0) {
        this.setState(name, "cooldown", r.stateUntil + reactivateCooldownMs, "reset passed; cooling down before reuse");
      } else if (r.state === "exhausted" || r.state === "cooldown") {
        this.setState(name, "active", null, `${r.state} ended`);
        revived.push(name);
      }
    }
    return revived;
  }

  view(name: string): AccountView | undefined {
    const c = this.configs.get(name);
    if (!c) return undefined;
    const r = this.row(name);
    const creds = readCredentials(c.home);
    return {
      name,
      home: c.home,
      priority: c.priority,
      state: r.state,
      stateUntil: r.stateUntil,
      stateReason: r.stateReason,
      credentials: creds.ok
        ? {
            present: true,
            expiresAt: creds.creds.expiresAt,
            subscriptionType: creds.creds.subscriptionType,
            problem: null,
          }
        : { present: false, expiresAt: null, subscriptionType: null, problem: creds.detail },
    };
  }

  views(): AccountView[] {
    return this.names().map((n) => this.view(n)!);
  }
}
