// A logger for tests that keeps every line it writes, to assert on what a service logged.
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/util/log.js";

/** A pino logger at `level` writing into `lines` (one JSON line per entry). */
export function capturingLogger(level = "info"): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger(
    level,
    new Writable({
      write(c, _e, cb) {
        lines.push(String(c));
        cb();
      },
    }),
  );
  return { log, lines };
}
