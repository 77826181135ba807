// What one notification looks like on the wire for one target. Pure: no I/O, no clock.
import { utcMinute } from "./catalog.js";
import type { NotifyKind, WebhookFormat } from "../config/notify-config.js";
import type { Notification } from "./types.js";

/** A target checked for use (notify-service.ts resolveTarget); its `${VAR}`s were substituted by the config loader. */
export interface ResolvedTarget {
  name: string;
  kind: NotifyKind;
  url?: string;
  argv?: string[];
  format: WebhookFormat;
}

/** An HTTP POST, or a program run with `stdin` (argv, never a shell). */
export type Delivery =
  | { via: "http"; url: string; headers: Record<string, string>; body: string }
  | { via: "exec"; argv: string[]; stdin: string };

/** The JSON every `json` webhook and every command gets: stable field names, documented in docs/notifications.md. */
export function eventJson(x: Notification): Record<string, unknown> {
  return {
    source: "claude-failover",
    event: x.event,
    ts: x.ts,
    time: new Date(x.ts).toISOString(),
    session: x.session,
    account: x.account,
    title: x.title,
    text: x.text,
    eventId: x.eventId,
    data: x.data,
  };
}

// Slack's mrkdwn treats & < > as control characters (https://api.slack.com/reference/surfaces/formatting#escaping).
const slackEscape = (t: string): string => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
// Discord: no mentions from our text (allowed_mentions below), markdown characters escaped.
const discordEscape = (t: string): string => t.replace(/([\\*_~`|>])/g, "\\$1");
// HTTP header values are latin-1 without control characters (ntfy's Title).
const headerSafe = (t: string): string => t.replace(/[^\x20-\x7e]/g, "?").slice(0, 250);

/** The request (or program run) that delivers `x` to `t`. */
export function render(t: ResolvedTarget, x: Notification): Delivery {
  switch (t.kind) {
    case "webhook": {
      const body =
        t.format === "slack"
          ? { text: `*${slackEscape(x.title)}*\n${slackEscape(x.text)}` }
          : t.format === "discord"
            ? {
                content: `**${discordEscape(x.title)}**\n${discordEscape(x.text)}`.slice(0, 2000),
                allowed_mentions: { parse: [] },
              }
            : eventJson(x);
      return { via: "http", url: t.url!, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    }
    case "ntfy":
      // https://docs.ntfy.sh/publish/: the body is the message, Title and Tags headers.
      return {
        via: "http",
        url: t.url!,
        body: `${x.text}\n(${utcMinute(x.ts)})`,
        headers: { "content-type": "text/plain; charset=utf-8", title: headerSafe(x.title), tags: headerSafe(x.event) },
      };
    case "command":
      return { via: "exec", argv: t.argv!, stdin: `${JSON.stringify(eventJson(x))}\n` };
    case "desktop":
      // `--` ends options: a title starting with "-" stays a title.
      return { via: "exec", argv: ["notify-send", "--app-name=claude-failover", "--", x.title, x.text], stdin: "" };
  }
}
