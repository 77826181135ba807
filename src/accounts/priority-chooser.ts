import type { AccountChoice, AccountChooser } from "../sessions/types.js";
import type { AccountService } from "./account-service.js";

/**
 * Start-up choice without quota figures: the preferred account if usable, else the lowest priority
 * number among active accounts. The quota service replaces it with one that weighs usage.
 */
export class PriorityChooser implements AccountChooser {
  constructor(private readonly accounts: AccountService) {}

  choose(opts: { preferred?: string | null; exclude?: string[] }): AccountChoice {
    const exclude = new Set(opts.exclude ?? []);
    const usable = this.accounts
      .names()
      .filter((n) => !exclude.has(n) && this.accounts.row(n).state === "active")
      .sort((a, b) => this.accounts.config(a)!.priority - this.accounts.config(b)!.priority || a.localeCompare(b));
    if (opts.preferred && usable.includes(opts.preferred)) return { ok: true, account: opts.preferred };
    if (usable[0]) return { ok: true, account: usable[0] };
    const untils = this.accounts.names().map((n) => this.accounts.row(n).stateUntil).filter((t): t is number => t !== null);
    return { ok: false, resumeAt: untils.length ? Math.min(...untils) : null, reason: "no usable account" };
  }
}
