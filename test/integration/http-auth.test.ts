import assert from "node:assert/strict";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { checkAuthorization, MIN_TOKEN_LENGTH, readToken, tokenMatcher } from "../../src/control/auth.js";
import { HttpServer, type HttpOptions, type Routes } from "../../src/control/http-server.js";
import { CfError } from "../../src/util/errors.js";
import { silentLogger } from "../../src/util/log.js";

const TOKEN = "t0ken-0123456789abcdef";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

function call(
  addr: AddressInfo,
  method: string,
  path: string,
  opts: { token?: string | null; auth?: string; body?: string | Buffer; chunked?: boolean } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.auth !== undefined) headers.authorization = opts.auth;
    else if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`;
    if (opts.body !== undefined) {
      headers["content-type"] = "application/json";
      if (!opts.chunked) headers["content-length"] = String(Buffer.byteLength(opts.body));
    }
    const req = request({ host: "127.0.0.1", port: addr.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = null;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    // The server may answer (413) and close before the whole body is sent.
    req.on("error", (e: NodeJS.ErrnoException) =>
      e.code === "EPIPE" || e.code === "ECONNRESET" ? undefined : reject(e),
    );
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

function routes(calls: { trigger: unknown[] }): Routes {
  return {
    get: {
      "/status": () => ({ sessions: 2 }),
      "/boom": () => {
        throw new Error("secret detail /home/dev/.claude at line 42");
      },
      "/cf-missing": () => {
        throw new CfError("no_such_session", "no session named zz");
      },
      "/query": ({ url }) => ({ n: url.searchParams.get("n") }),
    },
    post: { "/echo": ({ body }) => ({ got: body }) },
    trigger: {
      "/trigger/swap": ({ body }) => {
        calls.trigger.push(body);
        return { swapped: true };
      },
    },
    raw: {},
  };
}

async function startServer(over: Partial<HttpOptions> = {}) {
  const calls = { trigger: [] as unknown[] };
  const server = new HttpServer(
    { routes: routes(calls), log: silentLogger() },
    // authFailures 0: these tests send many bad tokens on purpose (throttling: control-limits.test.ts)
    {
      host: "127.0.0.1",
      port: 0,
      token: TOKEN,
      maxBody: 1024,
      ratePerMinute: 0,
      enableTrigger: false,
      authFailures: 0,
      ...over,
    },
  );
  const addr = await server.listen();
  return { server, addr, calls };
}

describe("HTTP control plane on a real port", () => {
  let server: HttpServer;
  let addr: AddressInfo;
  let calls: { trigger: unknown[] };
  before(async () => {
    ({ server, addr, calls } = await startServer());
  });
  after(() => server.close());

  it("listens on an ephemeral loopback port", () => {
    assert.equal(addr.address, "127.0.0.1");
    assert.ok(addr.port > 0);
  });

  it("/health is open", async () => {
    const r = await call(addr, "GET", "/health", { token: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { ok: true });
  });

  it("/status: 401 without a token, with a wrong token, with the Basic scheme; 200 with the right one", async () => {
    for (const opts of [
      { token: null },
      { token: "wrong-token-0123456789" },
      { token: `${TOKEN}x` },
      { token: TOKEN.slice(0, -1) },
      { auth: `Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}` },
      { auth: `Basic ${TOKEN}` },
      { auth: `bearer ${TOKEN}` },
      { auth: `Bearer  ${TOKEN}` },
      { auth: `Bearer ${TOKEN} extra` },
      { auth: "Bearer" },
    ]) {
      const r = await call(addr, "GET", "/status", opts);
      assert.equal(r.status, 401, JSON.stringify(opts));
      assert.equal(r.body.error.code, "unauthorized");
      assert.match(String(r.headers["www-authenticate"]), /^Bearer/);
      assert.ok(!r.text.includes(TOKEN), "the token is never echoed");
    }
    const ok = await call(addr, "GET", "/status");
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { sessions: 2 });
    assert.match(String(ok.headers["content-type"]), /application\/json/);
  });

  it("routes see the query string", async () => {
    const r = await call(addr, "GET", "/query?n=5");
    assert.deepEqual(r.body, { n: "5" });
  });

  it("unknown path → 404 (after auth: 401 first without a token); wrong method → 405", async () => {
    assert.equal((await call(addr, "GET", "/nope")).status, 404);
    assert.equal((await call(addr, "GET", "/nope", { token: null })).status, 401);
    assert.equal((await call(addr, "DELETE", "/status")).status, 405);
    assert.equal((await call(addr, "GET", "/echo")).status, 405);
  });

  it("trigger routes are 403 while enable_trigger is false, and the handler never runs", async () => {
    const r = await call(addr, "POST", "/trigger/swap", { body: '{"session":"a"}' });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, "forbidden");
    assert.deepEqual(calls.trigger, []);
    assert.equal((await call(addr, "POST", "/trigger/swap", { token: null, body: "{}" })).status, 401);
  });

  it("trigger routes work once enabled", async () => {
    server.update({ enableTrigger: true });
    try {
      const r = await call(addr, "POST", "/trigger/swap", { body: '{"session":"a"}' });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { swapped: true });
      assert.deepEqual(calls.trigger, [{ session: "a" }]);
    } finally {
      server.update({ enableTrigger: false });
    }
    assert.equal((await call(addr, "POST", "/trigger/swap", { body: "{}" })).status, 403);
  });

  it("POST body: valid JSON reaches the handler; over maxBody → 413 (declared or chunked); invalid JSON / empty → 400", async () => {
    const ok = await call(addr, "POST", "/echo", { body: '{"a":[1,"x"]}' });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { got: { a: [1, "x"] } });

    const big = JSON.stringify({ x: "y".repeat(2000) });
    const r1 = await call(addr, "POST", "/echo", { body: big });
    assert.equal(r1.status, 413);
    assert.equal(r1.body.error.code, "body_too_large");
    const r2 = await call(addr, "POST", "/echo", { body: big, chunked: true });
    assert.equal(r2.status, 413);

    const bad = await call(addr, "POST", "/echo", { body: "{not json" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "bad_request");
    const empty = await call(addr, "POST", "/echo", { body: "" });
    assert.equal(empty.status, 400);
    assert.match(empty.body.error.message, /empty/);
    const none = await call(addr, "POST", "/echo");
    assert.equal(none.status, 400);

    // The server still serves after refusing bodies.
    assert.equal((await call(addr, "GET", "/status")).status, 200);
  });

  it("a CfError maps to its status; a plain Error is a generic 500 with no detail, and the server keeps serving", async () => {
    const cf = await call(addr, "GET", "/cf-missing");
    assert.equal(cf.status, 404);
    assert.deepEqual(cf.body, { error: { code: "no_such_session", message: "no session named zz" } });

    const r = await call(addr, "GET", "/boom");
    assert.equal(r.status, 500);
    assert.deepEqual(r.body, { error: { code: "internal", message: "internal error; see the daemon log" } });
    assert.ok(!r.text.includes("secret detail"));
    assert.ok(!r.text.includes("at "), "no stack");
    const again = await call(addr, "GET", "/status");
    assert.equal(again.status, 200);
  });

  it("a new token from update() replaces the old one", async () => {
    const next = "another-token-abcdef0123";
    server.update({ token: next });
    try {
      assert.equal((await call(addr, "GET", "/status")).status, 401);
      assert.equal((await call(addr, "GET", "/status", { token: next })).status, 200);
    } finally {
      server.update({ token: TOKEN });
    }
    assert.equal((await call(addr, "GET", "/status")).status, 200);
  });
});

describe("HTTP rate limit", () => {
  let server: HttpServer;
  let addr: AddressInfo;
  before(async () => {
    ({ server, addr } = await startServer({ ratePerMinute: 5 }));
  });
  after(() => server.close());

  it("429 after N requests per minute; /health and bad tokens don't spend the budget", async () => {
    for (let i = 0; i < 3; i++) assert.equal((await call(addr, "GET", "/health", { token: null })).status, 200);
    for (let i = 0; i < 3; i++)
      assert.equal((await call(addr, "GET", "/status", { token: "wrong-token-0123456789" })).status, 401);
    for (let i = 0; i < 5; i++) assert.equal((await call(addr, "GET", "/status")).status, 200, `request ${i + 1}`);
    const limited = await call(addr, "GET", "/status");
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, "rate_limited");
    assert.equal(limited.headers["retry-after"], "1");
    assert.equal((await call(addr, "GET", "/health", { token: null })).status, 200, "/health is never limited");
  });
});

describe("readToken / tokenMatcher / checkAuthorization", () => {
  it("readToken: unset, empty, too short, ok", () => {
    const unset = readToken({}, "CF_TOKEN");
    assert.equal(unset.ok, false);
    assert.match(!unset.ok ? unset.message : "", /CF_TOKEN is not set/);
    assert.equal(readToken({ CF_TOKEN: "" }, "CF_TOKEN").ok, false);
    const short = readToken({ CF_TOKEN: "x".repeat(MIN_TOKEN_LENGTH - 1) }, "CF_TOKEN");
    assert.equal(short.ok, false);
    assert.match(!short.ok ? short.message : "", /too short \(15 characters, need at least 16\)/);
    assert.ok(!(!short.ok && short.message.includes("xxxxxxxx")), "the message never quotes the token");
    assert.deepEqual(readToken({ CF_TOKEN: "x".repeat(MIN_TOKEN_LENGTH) }, "CF_TOKEN"), {
      ok: true,
      token: "x".repeat(MIN_TOKEN_LENGTH),
    });
    assert.equal(readToken({ OTHER: TOKEN }, "CF_TOKEN").ok, false);
  });

  it("tokenMatcher: exact match only", () => {
    const m = tokenMatcher(TOKEN);
    assert.equal(m(TOKEN), true);
    assert.equal(m(undefined), false);
    assert.equal(m(""), false);
    assert.equal(m(`${TOKEN} `), false);
    assert.equal(m(TOKEN.toUpperCase()), false);
    assert.equal(m(TOKEN.slice(1)), false);
    assert.equal(m("a".repeat(10_000)), false, "a different length doesn't throw (hashes compared)");
  });

  it("checkAuthorization", () => {
    const m = tokenMatcher(TOKEN);
    assert.deepEqual(checkAuthorization(`Bearer ${TOKEN}`, m), { ok: true, token: TOKEN });
    assert.equal(checkAuthorization(undefined, m).ok, false);
    assert.equal(checkAuthorization(`Basic ${TOKEN}`, m).ok, false);
    assert.equal(checkAuthorization("Bearer nope", m).ok, false);
  });
});
