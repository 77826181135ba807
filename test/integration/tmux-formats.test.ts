// Hostile project paths and text against a real tmux (docs/notes/tmux-formats.md): nothing is expanded,
// nothing runs, the pane runs in exactly the directory asked for.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { realExec } from "../../src/tmux/exec.js";
import { Tmux } from "../../src/tmux/tmux.js";
import { waitFor } from "../support/wait.js";

const SOCKET = `cf-fmt-${process.pid}-${randomBytes(4).toString("hex")}`;
const exec = realExec();
const tmux = new Tmux(exec, SOCKET);
let dir: string;

// The program writes its working directory to a file named by its argument: no user text in a shell string.
const PWD_TO = (out: string) => ["env", "sh", "-c", 'pwd -P > "$0.tmp" && mv "$0.tmp" "$0"; exec sleep 600', out];

describe("tmux formats against a real tmux server", () => {
  before(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), "cf-fmt-")));
  });
  after(async () => {
    const sock = (await exec(["-L", SOCKET, "display-message", "-p", "#{socket_path}"])).stdout.trim();
    await tmux.killServer();
    if (sock.endsWith(SOCKET)) rmSync(sock, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  const names = [
    (d: string) => `#(touch ${d}/fmt)`,
    () => "C#Sharp",
    () => "#{session_name}",
    () => "#[fg=red]x",
    () => "a##[b",
    () => "c#S#[d",
    () => "e#{l:#[}",
    () => "ends with;",
    () => `it's "quoted" and spaced`,
    () => "back\\;",
    () => "##",
  ];
  names.forEach((name, i) => {
    it(`a session in a directory named ${JSON.stringify(name("<tmp>"))} runs there; nothing is run by tmux`, async () => {
      const project = join(dir, "p", name(dir));
      mkdirSync(project, { recursive: true });
      const out = join(dir, `pwd-${i}`);
      const session = `s${i}#(touch ${dir}/fmt-name)`;
      await tmux.newSession(session, { cwd: project, argv: PWD_TO(out) });
      const got = await waitFor(() => existsSync(out) && readFileSync(out, "utf8").trimEnd(), 10_000, "pwd written");
      assert.equal(got, realpathSync(project));
      // respawn-pane -c, the same way
      rmSync(out);
      await tmux.respawn(session, { cwd: project, argv: PWD_TO(out) });
      assert.equal(
        await waitFor(() => existsSync(out) && readFileSync(out, "utf8").trimEnd(), 10_000, "pwd after respawn"),
        realpathSync(project),
      );
      assert.ok(
        (await tmux.listPanes()).some((p) => p.session === session && p.owned),
        "the session keeps its literal name",
      );
      assert.equal(existsSync(join(dir, "fmt")), false, "#( in the path was run");
      assert.equal(existsSync(join(dir, "fmt-name")), false, "#( in the session name was run");
    });
  });

  it("text ending in ';' is typed whole", async () => {
    const out = join(dir, "typed");
    await tmux.newSession("typer", {
      cwd: dir,
      argv: ["env", "sh", "-c", 'IFS= read -r line && printf %s "$line" > "$0"', out],
    });
    await tmux.sendLiteral("typer", "echo #(x) #{y};");
    await tmux.sendKeys("typer", "Enter");
    assert.equal(
      await waitFor(() => existsSync(out) && readFileSync(out, "utf8"), 10_000, "line read"),
      "echo #(x) #{y};",
    );
  });
});
