// A notification target's URL and arguments may be credentials (a Slack webhook URL is its own secret; the
// config's `${VAR}` puts tokens into a URL when it is loaded: config/yaml-doc.ts; never into a command's argv,
// config/load.ts refuses that, but an argument may still name something private). Delivery errors reach
// status, the event log and the log only through this.

/** A function that blanks each of `secrets` and every URL's path and query in a text. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const list = [...new Set(secrets.filter((x) => x.length >= 4))].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const x of list) out = out.split(x).join("[redacted]");
    return out.replace(/(https?:\/\/[^/\s"']+)\/[^\s"']*/g, "$1/[redacted]");
  };
}

/** What of a target may be secret: its URL's path, query and userinfo, its arguments after the program. */
export function targetSecrets(t: { url?: string; argv?: string[] }): string[] {
  const out: string[] = [...(t.argv?.slice(1) ?? [])];
  if (t.url) {
    try {
      const u = new URL(t.url);
      out.push(u.pathname.replace(/^\/+/, ""), u.search.replace(/^\?/, ""), u.username, u.password);
      for (const seg of u.pathname.split("/")) out.push(seg);
      for (const v of u.searchParams.values()) out.push(v);
    } catch {
      /* not a URL: the schema refuses it */
    }
  }
  return out;
}
