import type { ControlApi } from "./control-api.js";
import type { Routes } from "./http-server.js";
import { CfError } from "../util/errors.js";
import type { Logger } from "../util/log.js";

/**
 * Plain HTTP routes over the facade. /trigger/* are gated by enable_trigger in the server. `metrics`: the
 * Prometheus text for /metrics (control/metrics.ts reads the facade, so it is built after it and passed here).
 * `log`: where a call to a deprecated route is warned about (each one also answers with a Deprecation header).
 */
export function buildRoutes(
  api: ControlApi,
  extras: { metrics?: () => Promise<string>; log?: Pick<Logger, "warn"> } = {},
): Routes {
  return {
    get: {
      "/status": () => api.status(),
      "/sessions": () => api.sessionsList(),
      "/accounts": () => api.accountsList(),
      "/tasks": () => api.tasksList(),
      "/schedules": () => api.schedulesList(),
      "/events": ({ url }) => {
        const after = url.searchParams.get("after");
        const n = Number(url.searchParams.get("n") ?? "50");
        // boxes=all (or box=NAME): every box's events from the shared store, each with its box (issue 19)
        const boxes = url.searchParams.get("boxes");
        const box = url.searchParams.get("box");
        if (boxes !== null && boxes !== "all" && boxes !== "this")
          throw new CfError("bad_request", `boxes must be "all" or "this", not ${JSON.stringify(boxes.slice(0, 20))}`);
        if (boxes === "all" || box !== null) {
          return api.eventsAllBoxes(
            after !== null ? { after: Number(after) || 0 } : { n: Number.isFinite(n) ? n : 50 },
            box !== null ? { box } : {},
          );
        }
        return after !== null ? api.eventsAfter(Number(after) || 0) : api.eventsTail(Number.isFinite(n) ? n : 50);
      },
      "/session": ({ url }) =>
        api.sessionGet(url.searchParams.get("name") ?? "", Number(url.searchParams.get("lines") ?? "40")),
      "/task": ({ url }) => api.taskGet(url.searchParams.get("id") ?? ""),
      "/metrics": async ({ res }) => {
        if (!extras.metrics) throw new CfError("unavailable", "metrics are not available");
        const text = await extras.metrics();
        res.writeHead(200, {
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
          "content-length": Buffer.byteLength(text),
        });
        res.end(text);
      },
    },
    post: {},
    trigger: {
      "/trigger/swap": ({ body }) => api.swap(body),
      "/trigger/checkpoint": ({ body }) => api.checkpoint(body),
      "/trigger/enqueue": ({ body }) => api.enqueue(body),
      "/trigger/task-cancel": ({ body }) => api.taskCancel(body),
      "/trigger/task-answer": ({ body }) => api.taskAnswer(body),
      "/trigger/send": ({ body }) => api.send(body),
      "/trigger/command": ({ body }) => api.command(body),
      "/trigger/restart": ({ body }) => api.restart(body),
      "/trigger/scale": ({ body }) => api.scale(body),
      "/trigger/account-enable": ({ body }) => api.enableAccount(body),
      "/trigger/account-disable": ({ body }) => api.disableAccount(body),
      // Deprecated (docs/architecture.md, Glossary): `{account, action}`; answered with a Deprecation header.
      "/trigger/account": ({ body, res }) => {
        extras.log?.warn(
          { route: "/trigger/account", instead: "/trigger/account-enable, /trigger/account-disable" },
          "route /trigger/account is deprecated: use /trigger/account-enable or /trigger/account-disable",
        );
        res.setHeader("Deprecation", "true");
        res.setHeader("Link", '</trigger/account-enable>; rel="successor-version"');
        return api.accountSet(body);
      },
      "/trigger/notify-test": ({ body }) => api.notifyTest(body),
    },
    raw: {},
  };
}
