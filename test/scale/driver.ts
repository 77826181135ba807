// The load of a soak: a stream of prompts typed into idle dedicated sessions through the daemon's
// send route (its prompt sender types them into the pane and confirms UserPromptSubmit), and task
// files dropped into the inbox for the autonomous pool. Every prompt and task carries a unique marker
// (soak-p000123, soak-t000045) that the stand-in log and the Stop events are searched for.
import { dropFiles } from "../support/inbox.js";
import type { ScaleEnv, StatusSession } from "./scale-env.js";

export interface SentPrompt {
  marker: string;
  session: string;
  at: number;
  /** accepted: the daemon confirmed UserPromptSubmit; refused: it said why not; unknown: no answer (daemon down) */
  outcome: "accepted" | "refused" | "unknown" | "pending";
  detail?: string;
}
export interface DroppedTask {
  marker: string;
  file: string;
  at: number;
}

export interface DriverOptions {
  promptsPerSec: number;
  tasksPerSec: number;
  /** each turn takes this long at the stand-in (SLOW:n), picked uniformly */
  slowMs: [number, number];
  /** has this marker been answered (a 200 turn at the stand-in)? */
  answered: (marker: string) => boolean;
}

/** Seeded PRNG (mulberry32): a run is repeatable from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number) => String(n).padStart(6, "0");
// A prompt whose fate is unknown (or refused) blocks its session's next prompt for this long at most.
const UNSURE_HOLD_MS = 30_000;

export class Driver {
  readonly prompts: SentPrompt[] = [];
  readonly tasks: DroppedTask[] = [];
  private readonly sending = new Map<string, Promise<void>>();
  private readonly last = new Map<string, SentPrompt>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private stopped = false;
  private tickDone: Promise<void> = Promise.resolve();
  private promptBudget = 0;
  private taskBudget = 0;
  private lastTick = Date.now();
  statusErrors = 0;

  constructor(
    private readonly env: ScaleEnv,
    private readonly rand: () => number,
    private readonly o: DriverOptions,
  ) {}

  start(): void {
    this.lastTick = Date.now();
    this.timer = setInterval(() => void this.tick(), 500);
  }

  /** Stops the stream and waits for sends in flight (a tick in progress starts none after this). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.tickDone;
    await Promise.allSettled([...this.sending.values()]);
  }

  private slow(): number {
    const [lo, hi] = this.o.slowMs;
    return Math.round(lo + this.rand() * (hi - lo));
  }

  private tick(): Promise<void> {
    if (this.ticking || this.stopped) return this.tickDone;
    this.tickDone = this.tickOnce();
    return this.tickDone;
  }

  private async tickOnce(): Promise<void> {
    this.ticking = true;
    try {
      const now = Date.now();
      const dt = (now - this.lastTick) / 1000;
      this.lastTick = now;
      this.promptBudget = Math.min(this.promptBudget + dt * this.o.promptsPerSec, 20);
      this.taskBudget += dt * this.o.tasksPerSec;
      while (this.taskBudget >= 1) {
        this.taskBudget -= 1;
        this.dropTask(now);
      }
      if (this.promptBudget < 1) return;
      let sessions: StatusSession[];
      try {
        sessions = await this.env.sessions();
      } catch {
        this.statusErrors++;
        return; // the daemon is down (chaos) or busy: try again next tick
      }
      if (this.stopped) return;
      const free = sessions.filter((s) => s.kind === "dedicated" && this.canPrompt(s, now));
      for (let i = free.length - 1; i > 0; i--) {
        const j = Math.floor(this.rand() * (i + 1));
        [free[i], free[j]] = [free[j]!, free[i]!];
      }
      for (const s of free) {
        if (this.promptBudget < 1) break;
        this.promptBudget -= 1;
        const p = this.send(s.name).finally(() => this.sending.delete(s.name));
        this.sending.set(s.name, p);
      }
    } finally {
      this.ticking = false;
    }
  }

  private canPrompt(s: StatusSession, now: number): boolean {
    if (
      s.state !== "idle" ||
      s.busyWith ||
      (s.lastPrompt !== null && !s.lastPromptAnswered) ||
      this.sending.has(s.name)
    )
      return false;
    const prev = this.last.get(s.name);
    if (!prev || this.o.answered(prev.marker)) return true;
    return prev.outcome !== "accepted" && now - prev.at > UNSURE_HOLD_MS;
  }

  private async send(session: string): Promise<void> {
    const marker = `soak-p${pad(this.prompts.length + 1)}`;
    const rec: SentPrompt = { marker, session, at: Date.now(), outcome: "pending" };
    this.prompts.push(rec);
    this.last.set(session, rec);
    try {
      const r = await this.env.api("POST", "/trigger/send", {
        session,
        text: `${marker} for ${session} SLOW:${this.slow()}`,
      });
      rec.outcome = r.status === 200 ? "accepted" : "refused";
      if (r.status !== 200) rec.detail = `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
    } catch (e) {
      rec.outcome = "unknown";
      rec.detail = e instanceof Error ? e.message : String(e);
    }
  }

  private dropTask(now: number): void {
    const marker = `soak-t${pad(this.tasks.length + 1)}`;
    const file = `${marker}.md`;
    try {
      dropFiles(this.env.inboxDir, [{ name: file, prompt: `${marker} task SLOW:${this.slow()}` }]);
      this.tasks.push({ marker, file, at: now });
    } catch {
      /* inbox dir not there yet: the daemon creates it at start */
    }
  }
}
