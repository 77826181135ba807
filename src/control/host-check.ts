// Host/Origin checks against DNS rebinding on /mcp. Pure: the caller passes the headers, the address
// it listens on and the port the connection actually arrived at.
//
// A rebinding attack makes a browser send requests to us under the attacker's domain name, so the Host
// header carries that name: we accept only loopback names, the configured listen host and (when
// listening on a wildcard address, where we cannot know the name clients use) IP literals, which no
// rebinding can produce. A browser page from another origin is refused by its Origin header.

export type HostCheck = { ok: true } | { ok: false; message: string };

export interface HostPolicy {
  /** The host part of mcp_http.listen ("127.0.0.1", "::1", "0.0.0.0", "box.lan", ...). */
  listenHost: string;
  /** The local port the request came in on. */
  port: number;
}

interface HostPort {
  hostname: string;
  port: number;
}

/** Parses a Host header value ("127.0.0.1:8080", "[::1]:80", "localhost") into a lower-case name and a port. */
export function parseHostHeader(value: string, defaultPort = 80): HostPort | null {
  if (!/^[A-Za-z0-9.:[\]-]{1,300}$/.test(value)) return null;
  try {
    const u = new URL(`http://${value}`);
    if (u.username || u.password || u.pathname !== "/" || u.search || u.hash) return null;
    return { hostname: u.hostname.toLowerCase(), port: u.port ? Number(u.port) : defaultPort };
  } catch {
    return null;
  }
}

/** Bracketed like URL.hostname: "::1" → "[::1]". */
export function normalizeHost(host: string): string {
  const h = host.toLowerCase();
  return h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
}

export function isLoopbackName(hostname: string): boolean {
  const h = normalizeHost(hostname);
  return h === "localhost" || h === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function isIpLiteral(hostname: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || /^\[[0-9a-f:.]+\]$/.test(hostname);
}

function isWildcard(host: string): boolean {
  const h = normalizeHost(host);
  return h === "0.0.0.0" || h === "[::]" || h === "";
}

/** true if `hostname` names this server for a request that arrived on `policy.listenHost`. */
function hostAllowed(hostname: string, policy: HostPolicy): boolean {
  if (isLoopbackName(hostname)) return true;
  if (hostname === normalizeHost(policy.listenHost)) return true;
  return isWildcard(policy.listenHost) && isIpLiteral(hostname);
}

/**
 * Host must name this server (see above) with the port the request came in on; Origin, when present,
 * must be a loopback origin or the very host the request was addressed to (same origin).
 */
export function checkHostOrigin(headers: { host?: string; origin?: string }, policy: HostPolicy): HostCheck {
  if (!headers.host) return { ok: false, message: "missing Host header" };
  const host = parseHostHeader(headers.host);
  if (!host) return { ok: false, message: "malformed Host header" };
  if (!hostAllowed(host.hostname, policy) || host.port !== policy.port) {
    return { ok: false, message: "Host header does not name this server" };
  }
  if (headers.origin === undefined) return { ok: true };
  let origin: URL;
  try {
    origin = new URL(headers.origin);
  } catch {
    return { ok: false, message: "Origin not allowed" };
  }
  if (origin.protocol !== "http:" && origin.protocol !== "https:") return { ok: false, message: "Origin not allowed" };
  const oh = origin.hostname.toLowerCase();
  if (isLoopbackName(oh) || oh === host.hostname) return { ok: true };
  return { ok: false, message: "Origin not allowed" };
}
