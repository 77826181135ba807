import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Exec, ExecResult } from "../../src/tmux/exec.js";
import { commandList, formatLiteral, OWNER_OPTION, socketArgs, Tmux } from "../../src/tmux/tmux.js";
import { isCfError } from "../../src/util/errors.js";

interface Call {
  argv: string[];
  input: string | undefined;
}

/** Records every tmux invocation; `reply` decides the result per call (default: success, no output). */
function fakeExec(reply: (argv: string[]) => Partial<ExecResult> = () => ({})): { exec: Exec; calls: Call[] } {
  const calls: Call[] = [];
  const exec: Exec = async (argv, opts) => {
    calls.push({ argv, input: opts?.input });
    return { code: 0, stdout: "", stderr: "", ...reply(argv) };
  };
  return { exec, calls };
}

const SPEC = { cwd: "/work/proj", argv: ["env", "HOME=/h", "claude", "--session-id", "x"] };

// Every -t value must be exact (`=name` or `=name:`), never a bare name that tmux would prefix-match.
function assertExactTargets(calls: Call[], name: string): void {
  for (const c of calls) {
    c.argv.forEach((a, i) => {
      if (a === "-t")
        assert.ok(c.argv[i + 1] === `=${name}` || c.argv[i + 1] === `=${name}:`, `bad target in ${c.argv.join(" ")}`);
    });
  }
}

describe("socketArgs", () => {
  it("default server, -L name, -S path", () => {
    assert.deepEqual(socketArgs(""), []);
    assert.deepEqual(socketArgs("cf"), ["-L", "cf"]);
    assert.deepEqual(socketArgs("/run/user/1000/cf.sock"), ["-S", "/run/user/1000/cf.sock"]);
  });

  it("every call is prefixed with the socket args", async () => {
    for (const [socket, prefix] of [
      ["cf", ["-L", "cf"]],
      ["/tmp/s", ["-S", "/tmp/s"]],
      ["", []],
    ] as const) {
      const { exec, calls } = fakeExec();
      const t = new Tmux(exec, socket);
      await t.hasSession("a");
      await t.newSession("a", SPEC);
      await t.respawn("a", SPEC);
      await t.listPanes();
      await t.capture("a");
      await t.sendLiteral("a", "x");
      await t.sendKeys("a", "Enter");
      await t.paste("a", "y");
      await t.killSession("a");
      await t.killServer();
      assert.ok(calls.length >= 10);
      for (const c of calls) assert.deepEqual(c.argv.slice(0, prefix.length), prefix, c.argv.join(" "));
      if (!prefix.length) for (const c of calls) assert.ok(!["-L", "-S"].includes(c.argv[0]!));
      assert.equal(t.calls, calls.length);
    }
  });
});

describe("Tmux argv", () => {
  it("targets are exact everywhere", async () => {
    const { exec, calls } = fakeExec();
    const t = new Tmux(exec, "cf");
    await t.hasSession("a");
    await t.newSession("a", SPEC);
    await t.respawn("a", SPEC);
    await t.capture("a", 100);
    await t.sendLiteral("a", "x");
    await t.sendKeys("a", "Escape");
    await t.paste("a", "y");
    await t.killSession("a");
    assertExactTargets(calls, "a");
    assert.deepEqual(calls[0]!.argv, ["-L", "cf", "has-session", "-t", "=a"]);
    assert.deepEqual(calls.at(-1)!.argv, ["-L", "cf", "kill-session", "-t", "=a"]);
  });

  it("hasSession reflects the exit code", async () => {
    const t = new Tmux(fakeExec(() => ({ code: 1, stderr: "can't find session" })).exec, "cf");
    assert.equal(await t.hasSession("a"), false);
    assert.equal(await new Tmux(fakeExec().exec, "cf").hasSession("a"), true);
  });

  it("newSession: one command list: a placeholder, then owner, remain-on-exit, history-limit, then the argv respawned in", async () => {
    const { exec, calls } = fakeExec();
    await new Tmux(exec, "cf").newSession("a", SPEC, { cols: 120, rows: 40 });
    assert.deepEqual(
      calls.map((c) => c.argv),
      [
        [
          "-L",
          "cf",
          "new-session",
          "-d",
          "-s",
          "a",
          "-x",
          "120",
          "-y",
          "40",
          "-c",
          "/work/proj",
          "--",
          "env",
          "sleep",
          "86400",
          ";",
          "set-option",
          "-t",
          "=a:",
          OWNER_OPTION,
          "1",
          ";",
          "set-option",
          "-w",
          "-t",
          "=a:",
          "remain-on-exit",
          "on",
          ";",
          "set-option",
          "-t",
          "=a:",
          "history-limit",
          "10000",
          ";",
          "respawn-pane",
          "-k",
          "-t",
          "=a:",
          "-c",
          "/work/proj",
          "--",
          ...SPEC.argv,
        ],
      ],
    );
  });

  it("newSession escapes an argument ending in ';' so tmux doesn't end the command list there", async () => {
    const { exec, calls } = fakeExec();
    await new Tmux(exec, "cf").newSession("a", {
      cwd: "/",
      argv: ["env", "claude", "--append-system-prompt", "be brief;", ";"],
    });
    assert.deepEqual(calls[0]!.argv.slice(-3), ["--append-system-prompt", "be brief\\;", "\\;"]);
  });

  it("newSession prepends env when the argv doesn't start with it (never a single shell word)", async () => {
    const { exec, calls } = fakeExec();
    await new Tmux(exec, "cf").newSession("a", { cwd: "/", argv: ["claude"] });
    const argv = calls.at(-1)!.argv;
    assert.deepEqual(argv.slice(argv.lastIndexOf("--")), ["--", "env", "claude"]);
  });

  it("newSession kills the half-made session when setting an option fails, and rethrows", async () => {
    const { exec, calls } = fakeExec((argv) =>
      argv.includes("remain-on-exit") ? { code: 1, stderr: "invalid option" } : {},
    );
    const t = new Tmux(exec, "cf");
    await assert.rejects(
      t.newSession("a", SPEC),
      (e: unknown) => isCfError(e, "tmux_failed") && /invalid option/.test((e as Error).message),
    );
    assert.equal(calls.length, 2, "the command list, then the clean-up");
    assert.deepEqual(calls.at(-1)!.argv, ["-L", "cf", "kill-session", "-t", "=a"]);
  });

  it("newSession failing on a duplicate name leaves the existing session alone", async () => {
    const { exec, calls } = fakeExec((argv) =>
      argv.includes("new-session") ? { code: 1, stderr: "duplicate session: a" } : {},
    );
    await assert.rejects(new Tmux(exec, "cf").newSession("a", SPEC), /duplicate session/);
    assert.equal(calls.length, 1);
  });

  it("respawn: respawn-pane -k on the exact pane with `--` argv", async () => {
    const { exec, calls } = fakeExec();
    await new Tmux(exec, "cf").respawn("a", SPEC);
    assert.deepEqual(calls[0]!.argv, [
      "-L",
      "cf",
      "respawn-pane",
      "-k",
      "-t",
      "=a:",
      "-c",
      "/work/proj",
      "--",
      ...SPEC.argv,
    ]);
  });

  it("sendLiteral uses -l -- so text starting with '-' or naming a key is literal; empty text sends nothing", async () => {
    const { exec, calls } = fakeExec();
    const t = new Tmux(exec, "cf");
    await t.sendLiteral("a", "-n Enter $(x) 'q'");
    await t.sendLiteral("a", "");
    assert.deepEqual(
      calls.map((c) => c.argv),
      [["-L", "cf", "send-keys", "-t", "=a:", "-l", "--", "-n Enter $(x) 'q'"]],
    );
  });

  it("sendKeys passes key names without -l", async () => {
    const { exec, calls } = fakeExec();
    await new Tmux(exec, "cf").sendKeys("a", "C-c", "Enter");
    assert.deepEqual(calls[0]!.argv, ["-L", "cf", "send-keys", "-t", "=a:", "C-c", "Enter"]);
  });

  it("capture: -p -J, with -S for scrollback", async () => {
    const { exec, calls } = fakeExec(() => ({ stdout: "screen" }));
    const t = new Tmux(exec, "cf");
    assert.equal(await t.capture("a"), "screen");
    await t.capture("a", 500);
    assert.deepEqual(calls[0]!.argv, ["-L", "cf", "capture-pane", "-p", "-J", "-t", "=a:"]);
    assert.deepEqual(calls[1]!.argv, ["-L", "cf", "capture-pane", "-p", "-J", "-t", "=a:", "-S", "-500"]);
  });

  it("paste: load-buffer from stdin, then paste-buffer -p -r -d with the same unique buffer", async () => {
    const { exec, calls } = fakeExec();
    const t = new Tmux(exec, "cf");
    const text = "line 1\nline 2 $(x) `y`\n";
    await t.paste("a", text);
    await t.paste("a", "second");
    assert.equal(calls.length, 4);
    const [load, paste] = calls;
    assert.deepEqual(load!.argv.slice(0, 4), ["-L", "cf", "load-buffer", "-b"]);
    const buf = load!.argv[4]!;
    assert.deepEqual(load!.argv.slice(5), ["-"]);
    assert.equal(load!.input, text);
    assert.deepEqual(paste!.argv, ["-L", "cf", "paste-buffer", "-p", "-r", "-d", "-b", buf, "-t", "=a:"]);
    assert.equal(paste!.input, undefined);
    const buf2 = calls[2]!.argv[4];
    assert.notEqual(buf2, buf, "each paste uses its own buffer");
    assert.equal(calls[3]!.argv[7], buf2);
  });

  it("paste deletes the buffer when paste-buffer fails, and rethrows", async () => {
    const { exec, calls } = fakeExec((argv) =>
      argv.includes("paste-buffer") ? { code: 1, stderr: "can't find pane" } : {},
    );
    await assert.rejects(new Tmux(exec, "cf").paste("a", "x"), /can't find pane/);
    const buf = calls[0]!.argv[4]!;
    assert.deepEqual(calls.at(-1)!.argv, ["-L", "cf", "delete-buffer", "-b", buf]);
  });

  it("killSession and killServer tolerate failure", async () => {
    const t = new Tmux(fakeExec(() => ({ code: 1, stderr: "no server" })).exec, "cf");
    await t.killSession("a");
    await t.killServer();
  });

  it("other failures raise tmux_failed with tmux's stderr", async () => {
    const t = new Tmux(fakeExec(() => ({ code: 1, stderr: "can't find pane: =a:\n" })).exec, "cf");
    await assert.rejects(
      t.sendKeys("a", "Enter"),
      (e: unknown) => isCfError(e, "tmux_failed") && /can't find pane: =a:$/.test((e as Error).message),
    );
    const t2 = new Tmux(fakeExec(() => ({ code: 3 })).exec, "cf");
    await assert.rejects(t2.capture("a"), /exit 3/);
  });
});

describe("Tmux.listPanes", () => {
  it("asks for every pane with a tab-separated format including the owner option", async () => {
    const { exec, calls } = fakeExec();
    await new Tmux(exec, "cf").listPanes();
    const argv = calls[0]!.argv;
    assert.deepEqual(argv.slice(0, 5), ["-L", "cf", "list-panes", "-a", "-F"]);
    assert.deepEqual(argv[5]!.split("\t"), [
      "#{session_name}",
      "#{pane_id}",
      "#{pane_dead}",
      "#{pane_dead_status}",
      "#{pane_pid}",
      `#{${OWNER_OPTION}}`,
    ]);
  });

  it("parses live, dead and foreign panes", async () => {
    const stdout = ["work\t%0\t0\t\t1234\t1", "done\t%3\t1\t137\t\t1", "mine too\t%7\t1\t0\t\t", ""].join("\n");
    const panes = await new Tmux(fakeExec(() => ({ stdout })).exec, "cf").listPanes();
    assert.deepEqual(panes, [
      { session: "work", paneId: "%0", dead: false, deadStatus: null, pid: 1234, owned: true },
      { session: "done", paneId: "%3", dead: true, deadStatus: 137, pid: null, owned: true },
      { session: "mine too", paneId: "%7", dead: true, deadStatus: 0, pid: null, owned: false },
    ]);
  });

  it("no server running → no panes, not an error", async () => {
    const t = new Tmux(fakeExec(() => ({ code: 1, stderr: "no server running on /tmp/tmux-1000/cf" })).exec, "cf");
    assert.deepEqual(await t.listPanes(), []);
  });
});

// tmux 3.3a format-expands new-session -s/-c and respawn-pane -c (docs/notes/tmux-formats.md), and its
// client splits any argument ending in ';' into a new command, in every call.
describe("Tmux argv: hostile text", () => {
  const HOSTILE = [
    "/p/#(touch /tmp/x)",
    "/p/C#Sharp",
    "/p/#{session_name}",
    "/p/#[fg=red]",
    "/p/##[x",
    "/p/#S#[y",
    "/p/#{l:#[}",
    "/p/end;",
    '/p/it\'s "q" x',
    "/p/a\\;",
    "/p/##",
  ];

  /** What tmux makes of one argument: `;`-escape undone by the client, then `##` → `#` by the format. */
  const clientArg = (a: string) => (a.endsWith("\\;") ? `${a.slice(0, -2)};` : a);
  // tmux 3.3a format.c: a run of '#' before '[' is copied as it is; '##' is '#'; any other '#' starts a format.
  const expanded = (a: string) =>
    clientArg(a).replace(/#+\[|##|#/g, (m) => (m.endsWith("[") ? m : m === "##" ? "#" : "<FORMAT>"));

  it("formatLiteral doubles every '#', nothing else", () => {
    assert.equal(formatLiteral("a#b##c#(x)#{y}#S"), "a##b####c##(x)##{y}##S");
    assert.equal(
      formatLiteral("#[z]##[w]#x#[v"),
      "#[z]##[w]##x#[v",
      "runs of '#' before '[' are copied by tmux as they are",
    );
    assert.equal(formatLiteral("/plain/path ;'\""), "/plain/path ;'\"");
  });

  it("commandList: bare ';' only between commands; an argument ending in ';' is escaped", () => {
    assert.deepEqual(commandList(["a", "x;"], ["b", ";"]), ["a", "x\\;", ";", "b", "\\;"]);
    assert.deepEqual(commandList(["a", "x\\;"]), ["a", "x\\\\;"]);
  });

  for (const cwd of HOSTILE) {
    it(`newSession/respawn: -c ${JSON.stringify(cwd)} reaches tmux as a literal, and no argument ends a command`, async () => {
      const { exec, calls } = fakeExec();
      const t = new Tmux(exec, "cf");
      const argv = ["env", "claude", "--x", cwd];
      await t.newSession("s#(id)", { cwd, argv });
      await t.respawn("s#(id)", { cwd, argv });
      for (const c of calls) {
        const a = c.argv;
        a.forEach((v, i) => {
          if (a[i - 1] === "-c") assert.equal(expanded(v), cwd, `-c in ${a.join(" ")}`);
          if (a[i - 1] === "-s") assert.equal(expanded(v), "s#(id)");
          if (v.endsWith(";") && v !== ";") assert.ok(v.endsWith("\\;"), `unescaped ';' in ${JSON.stringify(v)}`);
        });
        // The command after `--` is not expanded by tmux: it must arrive unchanged (after the client's `;` rule).
        const tail = a.slice(a.lastIndexOf("--") + 1).map(clientArg);
        assert.deepEqual(tail, argv);
      }
      assert.equal(calls[0]!.argv.filter((v) => v === ";").length, 4, "exactly the four separators of the list");
    });
  }

  it("sendLiteral and sendKeys escape a trailing ';' (tmux would drop it and end the command)", async () => {
    const { exec, calls } = fakeExec();
    const t = new Tmux(exec, "cf");
    await t.sendLiteral("a", "echo x;");
    await t.sendKeys("a", ";");
    assert.deepEqual(calls[0]!.argv.slice(-1), ["echo x\\;"]);
    assert.deepEqual(calls[1]!.argv.slice(-1), ["\\;"]);
  });
});
