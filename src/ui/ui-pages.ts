// The two HTML documents: no inline script or style (the CSP forbids both), every dynamic string escaped.

/** HTML-escapes text for element content and quoted attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const head = (title: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${esc(title)}</title>
<link rel="stylesheet" href="/ui/uplot.css"><link rel="stylesheet" href="/ui/app.css"></head>`;

export function loginPage(message: string | null): string {
  return `${head("claude-failover: log in")}
<body class="login"><main><h1>claude-failover</h1>
<form method="post" action="/ui/login" autocomplete="off">
<label for="token">Bearer token (the value of the variable named by <code>mcp_http.bearer_token_env</code>)</label>
<input id="token" name="token" type="password" required autofocus>
<button type="submit">Log in</button>
${message ? `<p class="error" role="alert">${esc(message)}</p>` : ""}
</form></main></body></html>`;
}

export function dashboardPage(): string {
  return `${head("claude-failover")}
<body><header><h1>claude-failover</h1><span id="conn" class="conn">connecting…</span>
<form method="post" action="/ui/logout"><button type="submit">Log out</button></form></header>
<main>
<section id="accounts-section"><h2>Accounts</h2><div id="accounts"></div></section>
<section id="boxes-section" hidden><h2>Boxes</h2><p id="boxes-status" class="small"></p><div class="scroll"><table id="boxes"><thead><tr>
<th>box</th><th>lease</th><th>last heartbeat</th><th>running tasks</th></tr></thead><tbody></tbody></table></div></section>
<section id="chart-section"><h2>Utilization of the 5-hour window (up to the last 6 hours)</h2><div id="chart"></div>
<div id="tip" class="tip" hidden></div><ul id="markers" class="markers"></ul></section>
<section id="sessions-section"><h2>Sessions</h2><div class="scroll"><table id="sessions"><thead><tr>
<th>name</th><th>kind</th><th>project</th><th>account</th><th>state</th><th>last activity</th><th>last swap</th><th>last prompt</th><th></th></tr></thead><tbody></tbody></table></div>
<pre id="pane" class="pane" hidden></pre></section>
<section id="tasks-section"><h2>Tasks</h2><div class="scroll"><table id="tasks"><thead><tr>
<th>id</th><th>state</th><th>project</th><th>session</th><th>time</th><th>result</th></tr></thead><tbody></tbody></table></div></section>
<section id="controls" hidden><h2>Controls</h2>
<form id="scale"><label>pool min <input name="min" type="number" min="0" max="64"></label>
<label>max <input name="max" type="number" min="0" max="64"></label><button type="submit">Scale</button></form>
<form id="enqueue"><label>project <input name="project" type="text"></label>
<label>prompt <textarea name="prompt" rows="3" required></textarea></label><button type="submit">Enqueue</button></form>
<p id="result" class="result" role="status"></p></section>
</main><script src="/ui/uplot.js"></script><script src="/ui/app.js"></script></body></html>`;
}
