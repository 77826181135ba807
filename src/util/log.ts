import { pino, type Logger } from "pino";

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
export function createLogger(level: string, dest?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: "claude-failover" },
      redact: { paths: REDACT, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest ?? process.stdout,
  );
}

// Masks anything that looks like an Anthropic OAuth/API token inside free text.
export function redactText(s: string): string {
  return s.replace(/sk-ant-[A-Za-z0-9_-]+/g, "sk-ant-[redacted]");
}

export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
