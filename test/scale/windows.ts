// Quota windows on the stand-in API: each account may answer `cap` turns per window; a window ends on a
// whole minute (the CLI shows the reset to the minute, "resets 3:58am", and the daemon parses that), then
// the count starts again. Every window is recorded, so a run can check that no token got a 200 answer
// beyond its cap.
import type { StandInApi } from "../support/stand-in-api.js";

export interface QuotaWindow {
  account: string;
  token: string;
  start: number;
  end: number | null;
  cap: number;
}

const MINUTE = 60_000;
// Reset the stand-in's count a little before the advertised minute: a daemon that comes back right at
// the reset must find the account usable, not be refused once more on a technicality of our timer.
const EARLY_MS = 500;

export class QuotaWindows {
  readonly history: QuotaWindow[] = [];
  private readonly open = new Map<string, QuotaWindow & { resetAt: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly api: StandInApi,
    private readonly tokens: Record<string, string>,
    readonly cap: number,
    readonly minWindowMs: number,
  ) {}

  start(now = Date.now()): void {
    for (const account of Object.keys(this.tokens)) this.begin(account, now);
    this.timer = setInterval(() => this.tick(), 100);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(now = Date.now()): void {
    for (const [account, w] of this.open) {
      if (now < w.resetAt - EARLY_MS) continue;
      w.end = now;
      this.begin(account, now);
    }
  }

  private begin(account: string, now: number): void {
    const token = this.tokens[account]!;
    const resetAt = Math.ceil((now + this.minWindowMs) / MINUTE) * MINUTE;
    this.api.resetCount(token);
    this.api.setCap(token, this.cap, resetAt / 1000);
    const w = { account, token, start: now, end: null, cap: this.cap, resetAt };
    this.open.set(account, w);
    this.history.push(w);
  }

  /** Turns answered 200 beyond a window's cap, per account (empty when the caps held). */
  overCap(turns: { time: number; token: string | null; status: number }[]): string[] {
    const out: string[] = [];
    for (const w of this.history) {
      const n = turns.filter(
        (t) => t.token === w.token && t.status === 200 && t.time >= w.start && (w.end === null || t.time < w.end),
      ).length;
      if (n > w.cap)
        out.push(`${w.account}: ${n} answers in the window from ${new Date(w.start).toISOString()} (cap ${w.cap})`);
    }
    return out;
  }
}
