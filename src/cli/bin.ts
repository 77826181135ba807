#!/usr/bin/env node
import { run } from "./main.js";

const code = await run(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
});
// The daemon command resolves only when the daemon has stopped; other commands end here.
process.exitCode = code;
