import type { IncomingMessage, ServerResponse } from "node:http";
import { CfError } from "../util/errors.js";

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** Reads a body up to `limit` bytes; past it the request is refused (413) without buffering the rest. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      reject(new CfError("body_too_large", `request body over ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(new CfError("body_too_large", `request body over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => !failed && resolve(Buffer.concat(chunks)));
    req.on("error", (e) => !failed && reject(e));
  });
}

export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const buf = await readBody(req, limit);
  if (!buf.length) throw new CfError("bad_request", "request body is empty; expected a JSON object");
  try {
    return JSON.parse(buf.toString("utf8")) as unknown;
  } catch {
    throw new CfError("bad_request", "request body is not valid JSON");
  }
}
