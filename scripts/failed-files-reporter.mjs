// A node:test reporter that writes the files with a failing top-level test, one per line, to the path in
// CF_FAILED_FILES_OUT (run-tests.mjs reads it to run a failed end-to-end file once more). Prints nothing.
import { writeFileSync } from "node:fs";

export default async function* failedFiles(source) {
  const failed = new Set();
  for await (const ev of source) {
    if (ev.type === "test:fail" && ev.data.nesting === 0 && ev.data.file) failed.add(ev.data.file);
  }
  if (process.env.CF_FAILED_FILES_OUT) writeFileSync(process.env.CF_FAILED_FILES_OUT, [...failed].join("\n"));
  yield "";
}
