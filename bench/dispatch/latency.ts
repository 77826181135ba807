// Benchmark: latency from a task file renamed into the inbox to its prompt submitted in an idle pool
// session (the CLI's UserPromptSubmit hook ran), over 50 tasks. Real CLI, real tmux, stand-in API.
// Run: node --import tsx bench/dispatch/latency.ts [tasks]
// Prints JSON: p50/p95/max in ms for the whole path and its legs (intake, dispatch, typing).
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeHarness } from "../../test/support/harness.js";
import { waitFor } from "../../test/support/wait.js";

const N = Number(process.argv[2] ?? 50);

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return {
    p50: q(0.5),
    p95: q(0.95),
    max: s[s.length - 1]!,
    mean: Math.round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

const h = await makeHarness({
  accounts: 1,
  dedicated: [],
  config: { pool: { min: 1, max: 1, idle_timeout: "10m" } },
});
try {
  (h.configObject.pool as Record<string, unknown>).project = h.project("work");
  h.writeConfig();
  const inbox = join(h.root, "state", "inbox");
  const staging = join(h.root, "staging");
  mkdirSync(staging, { recursive: true });
  // Written well before they are renamed in, as a writer that renames finished files does.
  for (let i = 0; i < N; i++)
    writeFileSync(join(staging, `bench-${i}.md`), `---\nid: bench-${i}\n---\nbenchmark task ${i}\n`);
  const d = await h.start();
  const free = () =>
    d.inbox.pool
      .views(new Set(d.inbox.tasks.inState("running").map((t) => t.session!)))
      .find((v) => v.state === "idle" && v.clean && !v.op && !v.hasTask);
  await waitFor(free, 90_000, "idle pool session", 20);

  const total: number[] = [];
  const seen: number[] = [];
  const intake: number[] = [];
  const dispatch: number[] = [];
  const typing: number[] = [];
  for (let i = 0; i < N; i++) {
    await waitFor(free, 30_000, "session free and reset", 5);
    const submitted = d.sessions.waitForSignal("auto-01", (s) => s.signal.kind === "prompt_submitted", 30_000);
    const t0 = Date.now();
    renameSync(join(staging, `bench-${i}.md`), join(inbox, `bench-${i}.md`));
    const sig = await submitted;
    const seenAt = Date.now();
    if (!sig) throw new Error(`task ${i}: no UserPromptSubmit`);
    const ev = (kind: string) =>
      d.store.tailEvents(50, { kindPrefix: kind }).find((e) => e.data.id === `bench-${i}`)!.ts;
    total.push(sig.ts - t0);
    seen.push(seenAt - t0);
    intake.push(ev("task.queued") - t0);
    dispatch.push(ev("task.dispatched") - ev("task.queued"));
    typing.push(sig.ts - ev("task.dispatched"));
    await waitFor(() => d.inbox.tasks.get(`bench-${i}`)?.state === "done", 30_000, "task done", 5);
  }
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: "dispatch latency: file renamed into the inbox → UserPromptSubmit in an idle pool session",
        tasks: N,
        ms: {
          toUserPromptSubmit: stats(total),
          toDaemonSeeingIt: stats(seen),
          legs: { intake: stats(intake), dispatch: stats(dispatch), typing: stats(typing) },
        },
        targetP95Ms: 250,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await h.cleanup();
}
