// Table tests for the DNS-rebinding checks on /mcp and the scrubbing of tool error messages.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkHostOrigin, parseHostHeader } from "../../src/control/host-check.js";
import { sanitize } from "../../src/control/mcp-tools.js";

type Row = [string, { host?: string; origin?: string }, string, boolean];

describe("checkHostOrigin", () => {
  const rows: Row[] = [
    // loopback listen: loopback names with the right port
    ["127.0.0.1 with port", { host: "127.0.0.1:7000" }, "127.0.0.1", true],
    ["localhost with port", { host: "localhost:7000" }, "127.0.0.1", true],
    ["LOCALHOST upper case", { host: "LOCALHOST:7000" }, "127.0.0.1", true],
    ["::1 bracketed", { host: "[::1]:7000" }, "::1", true],
    ["other 127/8 address", { host: "127.0.0.2:7000" }, "127.0.0.1", true],
    ["wrong port", { host: "127.0.0.1:7001" }, "127.0.0.1", false],
    ["no port (means 80)", { host: "127.0.0.1" }, "127.0.0.1", false],
    ["rebinding name", { host: "evil.example:7000" }, "127.0.0.1", false],
    ["localhost look-alike", { host: "localhost.evil.example:7000" }, "127.0.0.1", false],
    ["LAN address while on loopback", { host: "192.168.1.5:7000" }, "127.0.0.1", false],
    ["missing Host", {}, "127.0.0.1", false],
    ["empty Host", { host: "" }, "127.0.0.1", false],
    ["userinfo in Host", { host: "a@127.0.0.1:7000" }, "127.0.0.1", false],
    ["path in Host", { host: "127.0.0.1:7000/x" }, "127.0.0.1", false],
    ["garbage Host", { host: "[[[:7000" }, "127.0.0.1", false],
    // a named or specific listen host (allow_remote)
    ["named listen host", { host: "box.lan:7000" }, "box.lan", true],
    ["named listen host, other name", { host: "other.lan:7000" }, "box.lan", false],
    ["specific IP listen", { host: "10.0.0.2:7000" }, "10.0.0.2", true],
    ["specific IP listen, other IP", { host: "10.0.0.3:7000" }, "10.0.0.2", false],
    // wildcard listen: IP literals (no rebinding can produce one) and loopback names
    ["wildcard, IP literal", { host: "10.0.0.3:7000" }, "0.0.0.0", true],
    ["wildcard, IPv6 literal", { host: "[fd00::1]:7000" }, "::", true],
    ["wildcard, DNS name", { host: "evil.example:7000" }, "0.0.0.0", false],
    // Origin
    ["no Origin (non-browser client)", { host: "127.0.0.1:7000" }, "127.0.0.1", true],
    ["loopback Origin", { host: "127.0.0.1:7000", origin: "http://localhost:3000" }, "127.0.0.1", true],
    ["same-origin", { host: "127.0.0.1:7000", origin: "http://127.0.0.1:7000" }, "127.0.0.1", true],
    ["https loopback Origin", { host: "127.0.0.1:7000", origin: "https://[::1]" }, "127.0.0.1", true],
    ["foreign Origin", { host: "127.0.0.1:7000", origin: "http://evil.example" }, "127.0.0.1", false],
    ["Origin null", { host: "127.0.0.1:7000", origin: "null" }, "127.0.0.1", false],
    ["file: Origin", { host: "127.0.0.1:7000", origin: "file:///tmp/x.html" }, "127.0.0.1", false],
    ["Origin of another LAN host", { host: "10.0.0.2:7000", origin: "http://10.0.0.9" }, "10.0.0.2", false],
    ["Origin of the remote host itself", { host: "10.0.0.2:7000", origin: "http://10.0.0.2:7000" }, "10.0.0.2", true],
  ];
  for (const [name, headers, listenHost, ok] of rows) {
    it(name, () => {
      const r = checkHostOrigin(headers, { listenHost, port: 7000 });
      assert.equal(r.ok, ok, JSON.stringify(r));
      if (!r.ok) assert.ok(r.message.length > 0);
    });
  }

  it("parseHostHeader", () => {
    assert.deepEqual(parseHostHeader("Example.COM:81"), { hostname: "example.com", port: 81 });
    assert.deepEqual(parseHostHeader("[::1]"), { hostname: "[::1]", port: 80 });
    assert.equal(parseHostHeader("a b"), null);
    assert.equal(parseHostHeader("x".repeat(400)), null);
  });
});

describe("sanitize (tool error messages)", () => {
  const token = "tok-0123456789abcdef0123";
  const rows: [string, string, string][] = [
    ["plain message kept", "no session named zz", "no session named zz"],
    ["the bearer token", `bad ${token} here`, "bad [redacted] here"],
    ["an OAuth token", "got sk-ant-oat01-abc_DEF-123 back", "got sk-ant-[redacted] back"],
    ["a credential path", "cannot read /home/u/.claude/.credentials.json: EACCES", "cannot read [path]: EACCES"],
    ["a quoted path", "open '/tmp/cf/state/x.db' failed", "open '[path]' failed"],
    ["a home-relative path", "see ~/.claude/settings.json", "see [path]"],
    ["a relative slash is not a path", "moved a/b to c", "moved a/b to c"],
    ["newlines folded", "line one\n    at Foo (/src/x.ts:1:2)", "line one at Foo ([path]:1:2)"],
  ];
  for (const [name, input, want] of rows) it(name, () => assert.equal(sanitize(input, [token]), want));

  it("bounded length", () => {
    const s = sanitize("x".repeat(5000), []);
    assert.ok(s.length <= 501);
  });
});
