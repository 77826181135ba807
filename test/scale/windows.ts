// Quota windows on the stand-in API: each account may answer `cap` turns per window; a window ends on a
// whole minute (the CLI shows the reset to the minute, "resets 3:58am", and the daemon parses that), then
// the count starts again. Every window is recorded, so a run can check that no token got a 200 answer
// beyond its cap.
//
// A window's turns are the requests the stand-in took between its opening and its closing, by position in
// the stand-in's request log, not by time: the stand-in records a request and decides it (200 or 429, on
// its count) in one synchronous step, and a roll resets that count in another, so the log's length at
// the roll splits the turns exactly as the stand-in counted them. Timestamps cannot: a turn decided on the
// old count and the roll can fall in the same millisecond (chaos seed 424242 under load: "c: 21 answers
// in the window from 07:19:59 (cap 20)", the old window's 20th turn counted in the new one as well).
import type { StandInApi } from "../support/stand-in-api.js";

export interface QuotaWindow {
  account: string;
  token: string;
  /** Date.now() (ms) of the roll that opened it / closed it (null while open) */
  start: number;
  end: number | null;
  /** the stand-in's request count (`api.requests.length`) when it opened / closed: its turns are those between */
  firstSeq: number;
  endSeq: number | null;
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

  /** Rolls every window whose reset is due at `now` (epoch ms); runs every 100 ms once started. */
  tick(now = Date.now()): void {
    for (const [account, w] of this.open) {
      if (now < w.resetAt - EARLY_MS) continue;
      w.end = now;
      w.endSeq = this.api.requests.length;
      this.begin(account, now);
    }
  }

  private begin(account: string, now: number): void {
    const token = this.tokens[account]!;
    const resetAt = Math.ceil((now + this.minWindowMs) / MINUTE) * MINUTE;
    this.api.resetCount(token);
    this.api.setCap(token, this.cap, resetAt / 1000);
    const firstSeq = this.api.requests.length;
    const w = { account, token, start: now, end: null, firstSeq, endSeq: null, cap: this.cap, resetAt };
    this.open.set(account, w);
    this.history.push(w);
  }

  /**
   * Windows whose token got more than `cap` answers 200, one line each (empty when the caps held). `turns`
   * carry `seq`, their request's index in the stand-in's log.
   */
  overCap(turns: { seq: number; token: string | null; status: number }[]): string[] {
    const out: string[] = [];
    for (const w of this.history) {
      const n = turns.filter(
        (t) =>
          t.token === w.token && t.status === 200 && t.seq >= w.firstSeq && (w.endSeq === null || t.seq < w.endSeq),
      ).length;
      if (n > w.cap)
        out.push(`${w.account}: ${n} answers in the window from ${new Date(w.start).toISOString()} (cap ${w.cap})`);
    }
    return out;
  }
}
