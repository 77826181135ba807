import { CliInput, type CliInputDeps, type SendResult } from "./cli-input.js";

export { inputBoxText, inputShows } from "./cli-input.js";
export type { SendResult } from "./cli-input.js";

/**
 * Sends prompts (a task's, an operator's, a swap's resend, a continue note) through the one input module
 * (cli-input.ts): the text is checked (a leading `/word`, control characters: refused with a reason),
 * entered as text into an empty prompt-mode box, and submitted only once it shows there; a dialog other
 * than the rate-limit one refuses the send with `dialog open: <kind>`. `input` is shared with the swap's
 * /exit, the pool's /clear and the `command` operation.
 */
export class PromptSender {
  readonly input: CliInput;
  constructor(deps: CliInputDeps) {
    this.input = new CliInput(deps);
  }

  send(name: string, text: string, opts: { confirmTimeoutMs?: number } = {}): Promise<SendResult> {
    return this.input.sendPrompt(name, text, opts);
  }
}
