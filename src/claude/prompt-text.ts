// What the CLI receives as a prompt (verified against 2.1.197 and 2.1.332: docs/notes/cli-input.md). Pure.
// Read by sessions/ (every send), inbox/ (task files), control/ and config/ (schedule prompts), so it lives
// below all of them.

/**
 * Text the CLI runs as a slash command when submitted, however it was entered: `/word` at the start
 * (verified: `/help me` opened help, `/nosuchcmd hi` printed "Unknown command" on both versions, while
 * `/tmp/x what is this` went to the model as a prompt).
 */
const SLASH_LEAD = /^\/[^\s/]+(?:\s|$)/;

export type TextCheck = { ok: true; body: string } | { ok: false; reason: string };

/**
 * The prompt as the model should see it, or why it can't be sent exactly. CR LF and lone CR become LF
 * (one prompt, several lines); trailing newlines are dropped (Enter submits). Refused: empty text; a
 * `/word` start (a slash command: use the `command` operation); ESC, other C0 controls but TAB and LF,
 * DEL and C1 controls — the CLI drops ESC and the character after it from a paste (2.1.197, 2.1.332)
 * and 2.1.332 strips other control characters ("Removed 1 invisible character"), so such a prompt
 * could never arrive byte for byte, and typed they would act as keys.
 */
export function checkPromptText(text: string): TextCheck {
  const body = text.replace(/\r\n?/g, "\n").replace(/\n+$/, "");
  if (!body.trim()) return { ok: false, reason: "empty prompt" };
  // eslint-disable-next-line no-control-regex
  const ctl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.exec(body);
  if (ctl) {
    const code = ctl[0].charCodeAt(0);
    const name =
      code === 0x1b ? "ESC" : code === 0x7f ? "DEL" : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    return {
      ok: false,
      reason: `prompt holds a control character (${name} at offset ${ctl.index}) that the CLI would not receive as text; remove it`,
    };
  }
  if (SLASH_LEAD.test(body)) {
    return {
      ok: false,
      reason: `prompt starts with ${body.split(/\s/)[0]}, which the CLI would run as a slash command; use the command operation for commands, or start the prompt differently`,
    };
  }
  return { ok: true, body };
}
