import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { parseProcStat, processEnded, processStart } from "../../src/sessions/swap-process-exit.js";
import { waitFor } from "../support/wait.js";

// A real /proc/<pid>/stat line (fields 3..52 after the command name), with the state and start time swapped in.
function statLine(comm: string, state: string, start: number): string {
  const tail = [
    state,
    "1",
    "2",
    "3",
    "0",
    "-1",
    "4194560",
    "10",
    "0",
    "0",
    "0",
    "5",
    "3",
    "0",
    "0",
    "20",
    "0",
    "1",
    "0",
  ];
  return `4242 (${comm}) ${tail.join(" ")} ${start} 12345678 1234 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n`;
}

describe("parseProcStat", () => {
  const cases: { name: string; text: string; want: ReturnType<typeof parseProcStat> }[] = [
    { name: "a running process", text: statLine("claude", "S", 987654), want: { state: "S", startTime: 987654 } },
    { name: "a zombie", text: statLine("claude", "Z", 5), want: { state: "Z", startTime: 5 } },
    {
      name: "a command name with spaces and a ')'",
      text: statLine("a) b (c", "R", 77),
      want: { state: "R", startTime: 77 },
    },
    { name: "no parenthesis", text: "4242 claude S 1 2", want: null },
    { name: "cut short before the start time", text: "4242 (claude) S 1 2 3", want: null },
    { name: "empty", text: "", want: null },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(parseProcStat(c.text), c.want));
});

describe("processEnded on a real process", { skip: !existsSync("/proc/self/stat") && "no /proc" }, () => {
  it("is false while it runs and true once it has exited, and a pid with another start time counts as ended", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const pid = child.pid!;
      const start = await waitFor(() => processStart(pid), 5000, "start time readable");
      assert.equal(processEnded(pid, start), false);
      assert.equal(processEnded(pid, start + 1), true, "another process under the same pid");
      child.kill("SIGTERM");
      await waitFor(() => processEnded(pid, start), 5000, "process ended");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("has no start time for a pid that does not exist or is not valid", () => {
    assert.equal(processStart(0), null);
    assert.equal(processStart(-5), null);
    assert.equal(processStart(2 ** 22 + 12345), null); // above pid_max's ceiling on Linux
  });
});
