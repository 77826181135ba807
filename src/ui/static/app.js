// The dashboard page (served as /ui/app.js; the CSP allows no inline script). Everything shown is set
// with textContent or attributes through el(): no HTML is ever built from data, so a prompt or project
// holding <script> shows as text. Live through the server-sent event stream /ui/stream.
"use strict";
(function () {
  var state = null;
  var chart = null;
  var chartKey = "";
  var xRange = [0, 1]; // the latest snapshot's span (s): the x scale reads it on every redraw

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs)
      for (var k in attrs) {
        if (k === "text") e.textContent = attrs[k];
        else if (k === "cls") e.className = attrs[k];
        else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]);
        else e.setAttribute(k, attrs[k]);
      }
    (children || []).forEach(function (c) {
      if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }
  function str(v) {
    return v === null || v === undefined ? "" : String(v);
  }

  function ago(ms, now) {
    if (!ms) return "-";
    var d = Math.round((now - ms) / 1000);
    var f = function (s) {
      s = Math.abs(s);
      return s < 90
        ? s + " s"
        : s < 5400
          ? Math.round(s / 60) + " min"
          : s < 172800
            ? Math.round(s / 3600) + " h"
            : Math.round(s / 86400) + " d";
    };
    return d >= 0 ? f(d) + " ago" : "in " + f(d);
  }
  function clock(ms) {
    return ms ? new Date(ms).toLocaleString() : "-";
  }

  function renderAccounts(s) {
    var box = clear(document.getElementById("accounts"));
    s.accounts.forEach(function (a) {
      var state =
        str(a.state) +
        (a.stateUntil ? " until " + clock(a.stateUntil) : "") +
        (a.stateReason ? " (" + a.stateReason + ")" : "");
      var card = el("div", { cls: "acct state-" + str(a.state), "data-account": a.name }, [
        el("h3", { text: a.name }),
        el("p", { cls: "state", text: state }),
        el("p", {
          cls: "small",
          text:
            "sessions: " +
            ((a.sessions || []).join(", ") || "none") +
            " · figures " +
            ago(a.figuresAt, s.now) +
            (a.figuresStatus ? " (" + a.figuresStatus + ")" : ""),
        }),
        el("p", {
          cls: "small",
          text:
            "login: " +
            (a.loginWarning ? a.loginWarning : a.loginEndsBy ? "ends by " + clock(a.loginEndsBy) : "ok") +
            (a.loginExpiresAt
              ? " · access token " + ago(a.loginExpiresAt, s.now).replace(" ago", " ago (expired)")
              : ""),
        }),
      ]);
      if (!a.windows.length) card.appendChild(el("p", { cls: "small", text: "no figures yet" }));
      a.windows.forEach(function (w) {
        var pct = Math.max(0, Math.min(100, w.utilization * 100));
        var bar = el("div", {
          cls: "bar" + (w.utilization >= w.threshold ? " over" : ""),
          role: "meter",
          "aria-valuemin": "0",
          "aria-valuemax": "100",
          "aria-valuenow": String(Math.round(pct)),
          "aria-label": a.name + " " + w.label,
        });
        var fill = el("div", { cls: "fill" });
        fill.style.width = pct + "%";
        var mark = el("div", { cls: "threshold", title: "threshold " + Math.round(w.threshold * 100) + " %" });
        mark.style.left = Math.min(100, w.threshold * 100) + "%";
        bar.appendChild(fill);
        bar.appendChild(mark);
        var detail =
          Math.round(pct) +
          " %" +
          (w.burnPerHour !== null ? " · " + (w.burnPerHour * 100).toFixed(1) + " %/h" : "") +
          (w.exhaustAt ? " · full " + ago(w.exhaustAt, s.now) : "") +
          (w.resetsAt ? " · resets " + ago(w.resetsAt, s.now) : "");
        card.appendChild(
          el("div", { cls: "window" }, [
            el("span", { cls: "label", text: w.label }),
            bar,
            el("span", { cls: "small", text: detail }),
          ]),
        );
      });
      if (s.triggers) {
        var enabled = a.state !== "disabled";
        card.appendChild(
          el("button", {
            text: enabled ? "Disable" : "Enable",
            onclick: function () {
              act({ action: "account", account: a.name, change: enabled ? "disable" : "enable" });
            },
          }),
        );
      }
      box.appendChild(card);
    });
  }

  function renderSessions(s) {
    var body = clear(document.querySelector("#sessions tbody"));
    s.sessions.forEach(function (x) {
      var st =
        str(x.state) +
        (x.stateReason ? ": " + x.stateReason : "") +
        (x.parkedUntil ? " (until " + clock(x.parkedUntil) + ")" : "");
      var sw = x.lastSwap
        ? str(x.lastSwap.from) +
          " → " +
          str(x.lastSwap.to) +
          " " +
          str(x.lastSwap.outcome) +
          " " +
          ago(x.lastSwap.at, s.now)
        : "-";
      var actions = el("td", { cls: "actions" }, [
        el("button", {
          text: "Pane",
          onclick: function () {
            showPane(x.name);
          },
        }),
      ]);
      if (s.triggers) {
        actions.appendChild(
          el("button", {
            text: "Swap",
            onclick: function () {
              act({ action: "swap", session: x.name });
            },
          }),
        );
        actions.appendChild(
          el("button", {
            text: "Checkpoint",
            onclick: function () {
              act({ action: "checkpoint", session: x.name });
            },
          }),
        );
        actions.appendChild(
          el("button", {
            text: "Restart",
            onclick: function () {
              act({ action: "restart", session: x.name });
            },
          }),
        );
      }
      body.appendChild(
        el("tr", { cls: x.waiting ? "waiting" : "", "data-session": x.name }, [
          el("td", { text: x.name }),
          el("td", { text: x.kind }),
          el("td", { cls: "project", text: x.project }),
          el("td", { cls: "account", text: str(x.account) }),
          el("td", { cls: "state", text: (x.waiting ? "⚠ " : "") + st }),
          el("td", { text: ago(x.lastActivity, s.now) }),
          el("td", { cls: "swap", text: sw }),
          el("td", { cls: "prompt", text: str(x.lastPrompt).slice(0, 160) }),
          actions,
        ]),
      );
    });
  }

  // The boxes sharing the store (store.backend: postgres); the section stays hidden with sqlite (boxes null).
  function renderBoxes(s) {
    var b = s.boxes;
    document.getElementById("boxes-section").hidden = !b;
    if (!b) return;
    var status = document.getElementById("boxes-status");
    status.textContent = !b.reachable
      ? "database unreachable · " + (b.asOf ? "as last read " + ago(b.asOf, s.now) : "not reached since the start")
      : b.asOf
        ? "shared store · read " + ago(b.asOf, s.now)
        : "shared store · not read yet";
    status.className = "small" + (b.reachable ? "" : " unreachable");
    var body = clear(document.querySelector("#boxes tbody"));
    b.boxes.forEach(function (x) {
      body.appendChild(
        el("tr", { cls: "lease-" + str(x.lease) + (x.self ? " self" : ""), "data-box": x.box }, [
          el("td", { cls: "box" }, [
            el("span", { cls: "name", text: x.box }),
            x.self ? el("span", { cls: "small", text: " (this box)" }) : null,
          ]),
          el("td", { cls: "lease", text: str(x.lease) }),
          el("td", { cls: "heartbeat", text: x.heartbeatAt === null ? "-" : ago(x.heartbeatAt, s.now) }),
          el("td", {
            cls: "running",
            text: String(x.runningTasks) + (x.ourTasks.length ? " (this box's: " + x.ourTasks.join(", ") + ")" : ""),
          }),
        ]),
      );
    });
  }

  function renderTasks(s) {
    var body = clear(document.querySelector("#tasks tbody"));
    s.tasks
      .slice()
      .reverse()
      .forEach(function (t) {
        var time =
          t.state === "running" || t.state === "waiting"
            ? "since " + ago(t.startedAt, s.now)
            : t.endedAt
              ? ago(t.endedAt, s.now)
              : "queued " + ago(t.createdAt, s.now);
        var result = t.resultPath
          ? el("button", {
              text: "result",
              onclick: function () {
                showTask(t.id);
              },
            })
          : el("span", { text: str(t.error) });
        var last = el("td", {}, [result]);
        if (t.waiting) {
          // A task stopped at a permission dialog: its question, and (with triggers) the two answers task answer takes.
          last = el("td", { cls: "question" }, [
            el("span", { text: "⚠ " + str(t.waiting.question) + " (" + ago(t.waiting.since, s.now) + ") " }),
          ]);
          if (s.triggers) {
            last.appendChild(
              el("button", {
                text: "Yes",
                onclick: function () {
                  act({ action: "task-answer", id: t.id, answer: "yes", since: t.waiting.since });
                },
              }),
            );
            last.appendChild(
              el("button", {
                text: "No",
                onclick: function () {
                  act({ action: "task-answer", id: t.id, answer: "no", since: t.waiting.since });
                },
              }),
            );
          }
        }
        if (s.triggers && (t.state === "queued" || t.state === "running" || t.state === "waiting")) {
          // The same as claude-failover task cancel ID: a queued task is removed, a running one interrupted.
          last.appendChild(
            el("button", {
              text: "Cancel",
              onclick: function () {
                act({ action: "task-cancel", id: t.id });
              },
            }),
          );
        }
        body.appendChild(
          el(
            "tr",
            { cls: "task-" + str(t.state) + (t.waiting ? " waiting" : ""), title: str(t.prompt), "data-task": t.id },
            [
              el("td", { text: t.id }),
              // A task of this box another box runs: queued in this box's record, and which box runs it.
              el("td", { cls: "state" }, [
                str(t.state),
                t.runsOn ? el("span", { cls: "runs-on small", text: " runs on " + t.runsOn }) : null,
              ]),
              el("td", { text: str(t.project) }),
              el("td", { text: str(t.session) }),
              el("td", { text: time }),
              last,
            ],
          ),
        );
      });
  }

  // ---- chart: utilization per account over time; markers (swaps, parks, refusals) as vertical lines
  var COLORS = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#2c7a7b", "#975a16", "#4a5568"];
  function renderChart(s) {
    var c = s.chart;
    var box = document.getElementById("chart");
    var key = c.accounts.join(",");
    var data = [c.t].concat(c.series);
    var width = Math.max(280, Math.min(box.clientWidth || 800, 1100));
    xRange = [c.since / 1000, c.now / 1000];
    if (!chart || key !== chartKey) {
      if (chart) chart.destroy();
      clear(box);
      chartKey = key;
      var series = [{}].concat(
        c.accounts.map(function (a, i) {
          return {
            label: a,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            spanGaps: true,
            points: { show: true, size: 5 },
          };
        }),
      );
      chart = new uPlot(
        {
          width: width,
          height: 220,
          series: series,
          scales: {
            x: {
              time: true,
              range: function () {
                return xRange;
              },
            },
            y: { range: [0, 100] },
          },
          axes: [{}, { label: "%", size: 40 }],
          hooks: { draw: [drawMarkers], setCursor: [hoverMarker] },
        },
        data,
        box,
      );
    } else {
      chart.setSize({ width: width, height: 220 });
      chart.setData(data);
    }
    chart.cfMarkers = c.markers;
    box.setAttribute("data-since", String(c.since));
    box.setAttribute("data-now", String(c.now));
    chart.redraw();
    var list = clear(document.getElementById("markers"));
    c.markers
      .slice(-8)
      .reverse()
      .forEach(function (m) {
        list.appendChild(el("li", { cls: "marker-" + m.kind.replace(/\./g, "-"), text: clock(m.at) + " " + m.text }));
      });
  }
  function markerColor(kind) {
    return kind.indexOf("swap.done") === 0 ? "#2f855a" : kind.indexOf("park") >= 0 ? "#c53030" : "#d69e2e";
  }
  function drawMarkers(u) {
    var ctx = u.ctx;
    (u.cfMarkers || []).forEach(function (m) {
      var x = Math.round(u.valToPos(m.at / 1000, "x", true));
      ctx.save();
      ctx.strokeStyle = markerColor(m.kind);
      ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.restore();
    });
  }
  function hoverMarker(u) {
    var tip = document.getElementById("tip");
    var left = u.cursor.left;
    if (left === undefined || left < 0) {
      tip.hidden = true;
      return;
    }
    var best = null;
    (u.cfMarkers || []).forEach(function (m) {
      var d = Math.abs(u.valToPos(m.at / 1000, "x") - left);
      if (d <= 6 && (!best || d < best.d)) best = { d: d, m: m };
    });
    if (!best) {
      tip.hidden = true;
      return;
    }
    tip.textContent = clock(best.m.at) + " " + best.m.kind + ": " + best.m.text;
    tip.hidden = false;
  }

  function render(s) {
    state = s;
    document.getElementById("controls").hidden = !s.triggers;
    renderAccounts(s);
    renderBoxes(s);
    renderSessions(s);
    renderTasks(s);
    if (window.uPlot) renderChart(s);
  }

  function getJson(path) {
    return fetch(path, { credentials: "same-origin" }).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) throw new Error(b.error ? b.error.message : r.status);
        return b;
      });
    });
  }
  function showText(text) {
    var p = document.getElementById("pane");
    p.textContent = text;
    p.hidden = false;
  }
  function showPane(name) {
    getJson("/ui/pane?name=" + encodeURIComponent(name)).then(
      function (b) {
        showText(name + "\n\n" + str(b.pane));
      },
      function (e) {
        showText(String(e.message));
      },
    );
  }
  function showTask(id) {
    getJson("/ui/task?id=" + encodeURIComponent(id)).then(
      function (b) {
        showText("task " + id + " (" + b.state + ")\n\n" + str(b.result || b.error));
      },
      function (e) {
        showText(String(e.message));
      },
    );
  }

  function act(send) {
    var out = document.getElementById("result");
    out.textContent = "working…";
    fetch("/ui/action", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-cf-ui": "1" },
      body: JSON.stringify(send),
    })
      .then(function (r) {
        return r.json().then(function (b) {
          out.textContent = (r.ok ? "done: " : "refused: ") + (r.ok ? JSON.stringify(b) : b.error.message);
        });
      })
      .catch(function (e) {
        out.textContent = "failed: " + e.message;
      });
  }

  document.getElementById("scale").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target;
    var b = { action: "scale" };
    if (f.min.value !== "") b.min = Number(f.min.value);
    if (f.max.value !== "") b.max = Number(f.max.value);
    act(b);
  });
  document.getElementById("enqueue").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target;
    var b = { action: "enqueue", prompt: f.prompt.value };
    if (f.project.value) b.project = f.project.value;
    act(b);
  });

  var conn = document.getElementById("conn");
  var es = new EventSource("/ui/stream");
  es.addEventListener("snapshot", function (ev) {
    conn.textContent = "live";
    conn.className = "conn live";
    render(JSON.parse(ev.data));
  });
  es.addEventListener("logout", function () {
    es.close();
    location.reload();
  });
  es.onerror = function () {
    conn.textContent = "reconnecting…";
    conn.className = "conn";
  };
  window.addEventListener("resize", function () {
    if (state && chart) renderChart(state);
  });
})();
