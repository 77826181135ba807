// One error base for faults: a stable string `code`, a message safe to show, and a `cause`.
export class CfError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CfError";
    this.code = code;
  }
}

export function isCfError(e: unknown, code?: string): e is CfError {
  return e instanceof CfError && (code === undefined || e.code === code);
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
