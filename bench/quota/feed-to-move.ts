// Benchmark: from the CLI seeing a response over the threshold to the move starting, driven by the
// status-line feed alone (the usage endpoint answers 429 for the whole run), with the REAL CLI against
// the stand-in. Per round: the current account's headers say 85 % (threshold 80 %), a prompt is typed,
//   response: the stand-in answered the turn request (its record's time; no reply delay);
//   feed:     the status-line script wrote the CLI's input (the feed file's mtime);
//   move:     the swap row's started_at (the quota monitor decided and began the move).
// Target: response → move under 2 s, with no request to the usage endpoint answered.
// Run: node --import tsx bench/quota/feed-to-move.ts   (ROUNDS=5; CF_TEST_CLI=latest for the newest CLI)
import { statSync } from "node:fs";
import { join } from "node:path";
import { makeHarness } from "../../test/support/harness.js";
import { selectedCli } from "../../test/support/cli-matrix.js";
import { typePrompt } from "../../test/support/typing.js";
import { waitFor } from "../../test/support/wait.js";
import { machine, median, quantile } from "../scale-report.js";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const names = "abcdefghij".slice(0, Math.min(10, ROUNDS + 1)).split("");
const h = await makeHarness({
  accounts: names.length,
  config: {
    quota: {
      window_5h_threshold: 0.8,
      min_dwell: "1s",
      poll_interval: "1m",
      poll_interval_min: "1m",
      poll_interval_max: "5m",
    },
  },
});
const out = (s: string) => process.stdout.write(`${s}\n`);
try {
  h.api.setUsageMode("429");
  const d = await h.start();
  await waitFor(() => d.sessions.get("dev")?.state === "idle", 60_000, "dev idle");
  const feedDir = join(h.loadConfig().state_dir, "statusline", "feed");
  const toFeed: number[] = [];
  const feedToMove: number[] = [];
  const toMove: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const from = d.sessions.get("dev")!.account!;
    h.api.setUtilization(h.accountTokens[from]!, { five_hour: 85 });
    const swapsBefore = d.store.listSwaps(100).length;
    const prompt = `bench feed ${i}`;
    await typePrompt(h, prompt);
    await waitFor(() => d.store.listSwaps(100).length > swapsBefore, 60_000, `move ${i} started`);
    const sw = d.store.lastSwap("dev")!;
    const turn = h.api.turns().find((t) => t.userText === prompt && t.status === 200)!;
    const feedAt = statSync(join(feedDir, `dev.${from}.json`)).mtimeMs;
    toFeed.push(Math.round(feedAt - turn.time));
    feedToMove.push(Math.round(sw.startedAt - feedAt));
    toMove.push(sw.startedAt - turn.time);
    await waitFor(
      () => d.store.lastSwap("dev")?.outcome === "ok" && d.sessions.get("dev")?.state === "idle",
      90_000,
      `move ${i} done`,
    );
    out(
      `round ${i}: ${from} → ${sw.toAccount}: response → feed ${toFeed.at(-1)} ms, feed → move ${feedToMove.at(-1)} ms, response → move ${toMove.at(-1)} ms`,
    );
  }
  const usage = h.api.requests.filter((r) => r.path.startsWith("/api/oauth/usage"));
  out(`\nmachine: ${await machine()}`);
  out(`CLI: ${selectedCli()}; rounds: ${ROUNDS}`);
  out(`response → status-line feed written: median ${median(toFeed)} ms (max ${quantile(toFeed, 1)})`);
  out(`feed written → move started:         median ${median(feedToMove)} ms (max ${quantile(feedToMove, 1)})`);
  out(`response → move started:             median ${median(toMove)} ms (max ${quantile(toMove, 1)})`);
  out(`usage endpoint: ${usage.length} requests, ${usage.filter((r) => r.status === 200).length} answered`);
} finally {
  await h.cleanup();
}
