// `claude-failover scale`: its flags as the /trigger/scale body, and refusals before any daemon is asked.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run, scaleBody } from "../../src/cli/main.js";
import { ExitError } from "../../src/ops/cli-config.js";

describe("scale flags", () => {
  const ok: Array<[{ min?: string; max?: string }, { min?: number; max?: number }]> = [
    [{ max: "3" }, { max: 3 }],
    [{ min: "0" }, { min: 0 }],
    [
      { min: "1", max: "64" },
      { min: 1, max: 64 },
    ],
    [
      { min: "2", max: "2" },
      { min: 2, max: 2 },
    ],
  ];
  for (const [flags, body] of ok)
    it(`${JSON.stringify(flags)} → ${JSON.stringify(body)}`, () => {
      assert.deepEqual(scaleBody(flags), body);
    });

  const bad: Array<[{ min?: string; max?: string }, RegExp]> = [
    [{}, /give at least one/],
    [{ max: "65" }, /--max 65: must be a whole number from 0 to 64/],
    [{ min: "-1" }, /--min -1: must be a whole number/],
    [{ min: "1.5" }, /--min 1\.5/],
    [{ max: "two" }, /--max two/],
    [{ max: "" }, /--max : must be/],
    [{ min: "3", max: "1" }, /--min 3 must not be above --max 1/],
  ];
  for (const [flags, re] of bad)
    it(`${JSON.stringify(flags)} refused`, () => {
      assert.throws(
        () => scaleBody(flags),
        (e: unknown) => e instanceof ExitError && e.exitCode === 2 && re.test(e.message),
      );
    });

  it("the command exits 2 with the reason, without reading a config", async () => {
    let err = "";
    const io = { out: () => {}, err: (s: string) => void (err += s), env: {} };
    assert.equal(await run(["--config", "/nonexistent/config.yaml", "scale", "--max", "x"], io), 2);
    assert.match(err, /--max x: must be a whole number from 0 to 64/);
    assert.equal(await run(["scale", "--help"], { ...io, out: (s: string) => void (err += s) }), 0);
    assert.match(err, /--min <n>/);
  });
});
