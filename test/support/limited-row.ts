// The session row the limit reactor's and the park/resume unit tests drive on fakes: the fields those
// services read and write, and a session whose last prompt was refused on account `e`.
import type { ManualClock } from "../../src/util/clock.js";

export interface LimitedRow {
  name: string;
  account: string | null;
  state: string;
  lastPrompt: string | null;
  lastPromptAt: number | null;
  lastPromptAnswered: boolean;
  failedPrompt: string | null;
  stateReason: string | null;
  parkedUntil: number | null;
  lastActivity: number | null;
  transcriptPath: string | null;
}

/** s1 on account e, `limited`, its prompt p100 (submitted a second ago) refused and owed. */
export function limitedRow(clock: ManualClock): LimitedRow {
  return {
    name: "s1",
    account: "e",
    state: "limited",
    lastPrompt: "p100",
    lastPromptAt: clock.now() - 1000,
    lastPromptAnswered: false,
    failedPrompt: "p100",
    stateReason: null,
    parkedUntil: null,
    lastActivity: null,
    transcriptPath: null,
  };
}
