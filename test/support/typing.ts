// Typing into a supervised session's pane as a person at the keyboard would (tests only).
import type { Harness } from "./harness.js";
import { waitFor } from "./wait.js";

/** The visible text of session `name`'s pane. */
export const pane = (h: Harness, name = "dev"): string => h.tmux("capture-pane", "-p", "-t", `=${name}:`).out;

/** Types `text` literally into `name`'s input box, waits until it shows, then presses Enter. */
export async function typePrompt(h: Harness, text: string, name = "dev"): Promise<void> {
  h.tmux("send-keys", "-t", `=${name}:`, "-l", "--", text);
  // Under load (a 2-core box running other suites) the CLI can take over 10 s to draw typed text.
  await waitFor(() => pane(h, name).includes(text), 30_000, "typed text shown");
  h.tmux("send-keys", "-t", `=${name}:`, "Enter");
}
