// The terminal an operator command writes to: stdout, stderr and the environment it reads. The CLI
// (cli/io.ts CliIo) passes its own; tests pass strings. ops/ sits below cli/ and never imports it.

/** `out`/`err` take text as it should appear (newlines included); `env` is the process environment or a test's. */
export interface OpsIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}
