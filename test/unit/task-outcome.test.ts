import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { onTurnFailed, retryDelay } from "../../src/inbox/task-outcome.js";

const P = { maxAttempts: 3, backoffMs: 1000, backoffMaxMs: 4000 };
const NOW = 1_000_000;

describe("onTurnFailed: what a failed turn means for its task", () => {
  const rows: [string, string, number, ReturnType<typeof onTurnFailed>][] = [
    ["a limit: the reactor swaps and resends", "rate_limit", 1, { kind: "wait_for_swap" }],
    [
      "a rejected token: the reactor restarts or moves, never a task failure",
      "authentication_failed",
      1,
      { kind: "wait_for_swap" },
    ],
    [
      "a server error: retried with backoff",
      "server_error",
      1,
      { kind: "retry", notBefore: NOW + 1000, reason: "server_error: boom" },
    ],
    [
      "a server error, third attempt: backoff doubled",
      "server_error",
      2,
      { kind: "retry", notBefore: NOW + 2000, reason: "server_error: boom" },
    ],
    [
      "a server error after the last attempt: fail",
      "server_error",
      3,
      { kind: "fail", reason: "server_error: boom (gave up after 3 attempts)" },
    ],
    ["a bad request: fail at once", "invalid_request", 1, { kind: "fail", reason: "invalid_request: boom" }],
  ];
  for (const [what, error, attempts, want] of rows)
    it(what, () => assert.deepEqual(onTurnFailed(error, "boom", attempts, NOW, P), want));
  it("backoff is capped", () => assert.equal(retryDelay(10, P), 4000));
});
