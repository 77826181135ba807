import { fstatSync, writeSync } from "node:fs";
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

// Keys whose values never reach a log line, wherever they sit in an object.
const REDACT = [
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "accessToken",
  "*.accessToken",
  "refreshToken",
  "*.refreshToken",
  "bearer",
  "*.bearer",
];

// JSON lines on stdout (journald picks them up); secrets redacted by key.
export function createLogger(level: string, dest?: NodeJS.WritableStream | DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: "claude-failover" },
      redact: { paths: REDACT, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest ?? stdoutDestination(),
  );
}

/** The system calls a file log destination makes (a seam for tests). */
export interface LogFileIo {
  /** writes buf; returns the bytes written (may be fewer) */
  writeSync(fd: number, buf: Buffer): number;
}

/**
 * A log written to a file (stdout redirected: `daemon >> cf.log`) that can't be written (ENOSPC: the disk
 * under it is full) must not take the daemon down: Node's stdout for a file throws the write's error as an
 * unhandled 'error' event. A line that can't be written is dropped and counted; the first line written
 * again is preceded by one saying how many were dropped and why (and by a newline ending the part of a line
 * a full disk cut short, so the next line stays a line of its own).
 */
export class FileLogDestination implements DestinationStream {
  dropped = 0;
  private lastError = "";
  private torn = false;

  constructor(
    private readonly fd: number,
    private readonly io: LogFileIo = { writeSync: (fd, b) => writeSync(fd, b) },
  ) {}

  write(line: string): void {
    const pending = (this.torn ? "\n" : "") + (this.dropped ? droppedLine(this.dropped, this.lastError) : "");
    if (this.put(pending + line)) this.dropped = 0;
    else this.dropped++;
  }

  /** Writes all of `s` (short writes looped); false when a write failed, `torn` when part of it went in. */
  private put(s: string): boolean {
    const buf = Buffer.from(s);
    let off = 0;
    try {
      while (off < buf.length) {
        const n = this.io.writeSync(this.fd, buf.subarray(off));
        if (n <= 0) throw Object.assign(new Error("write returned 0"), { code: "EIO" });
        off += n;
      }
      this.torn = false;
      return true;
    } catch (e) {
      this.lastError = (e as NodeJS.ErrnoException).code ?? String(e);
      if (off > 0) this.torn = true;
      return false;
    }
  }
}

function droppedLine(n: number, why: string): string {
  return `${JSON.stringify({ level: 40, time: new Date().toISOString(), app: "claude-failover", dropped: n, err: why, msg: `${n} log line(s) could not be written (${why}) and were dropped` })}\n`;
}

/**
 * stdout as the log's destination: a regular file gets FileLogDestination (a full disk drops lines instead
 * of crashing); a pipe, socket or terminal (journald) is process.stdout, whose errors (EPIPE when the reader
 * went away) are ignored rather than fatal.
 */
export function stdoutDestination(): DestinationStream {
  let file = false;
  try {
    file = fstatSync(1).isFile();
  } catch {
    /* no stdout */
  }
  if (file) return new FileLogDestination(1);
  if (process.stdout.listenerCount("error") === 0) process.stdout.on("error", () => {});
  return process.stdout;
}

// Masks anything that looks like an Anthropic OAuth/API token inside free text.
export function redactText(s: string): string {
  return s.replace(/sk-ant-[A-Za-z0-9_-]+/g, "sk-ant-[redacted]");
}

export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
