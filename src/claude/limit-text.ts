// Tells a server throttle from the account's own quota in the text of a refused request
// (`StopFailure.last_assistant_message`, or the pane). Pure.
//
// A service-wide throttle is a 429 without a `rejected` unified status; the CLI retries it itself
// and then prints `API Error: Server is temporarily limiting requests (not your usage limit) · Rate
// limited` (2.1.197 and 2.1.332 [verified], ../shared/docs/claude-code.md "Seen on 2.1.332").
// An overloaded service answers 529 (`overloaded_error`). Neither says anything about the account.

import { limitHeadKind } from "./reset-time.js";

/** How a throttled session's state reason starts (apply-event.ts sets it; the limit reactor finds it after a restart). */
export const THROTTLE_REASON = "throttled by the service (not your usage limit)";

/** throttle: the service, not the account (retry on the same account); quota: the account's limit; unknown: neither. */
export type RateLimitClass = "throttle" | "quota" | "unknown";

const THROTTLE = /not your usage limit|temporarily limiting requests|\boverloaded(?:_error)?\b|\b529\b/i;

/**
 * Classifies a rate-limit failure message. Throttle wordings are checked first: the throttle text
 * itself contains "usage limit". Any hit-limit wording parseLimitMessage knows is quota (usage
 * warnings are not). null or anything else is unknown.
 */
export function classifyRateLimit(message: string | null): RateLimitClass {
  if (message === null || message.trim() === "") return "unknown";
  if (THROTTLE.test(message)) return "throttle";
  return limitHeadKind(message) !== null ? "quota" : "unknown";
}
