// The page's static files: our own script and stylesheet (src/ui/static/) and uPlot's, read from the
// package's node_modules once (no CDN: the page works offline). Found from both the TypeScript sources
// (tsx) and the built copy (dist/src/ui/, beside which the installer keeps src/).
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export interface Asset {
  type: string;
  body: Buffer;
}

function staticDir(): string {
  for (const rel of ["./static/", "../../../src/ui/static/"]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${p}app.js`)) return p;
  }
  throw new Error("the dashboard's static files (src/ui/static) are missing");
}

/** Path (under /ui/) → file, loaded on first use. */
export function loadAssets(): Map<string, Asset> {
  const dir = staticDir();
  const require = createRequire(import.meta.url);
  const uplotDir = require.resolve("uplot").replace(/uPlot\.cjs\.js$/, "");
  const js = "text/javascript; charset=utf-8";
  const css = "text/css; charset=utf-8";
  return new Map<string, Asset>([
    ["/ui/app.js", { type: js, body: readFileSync(`${dir}app.js`) }],
    ["/ui/app.css", { type: css, body: readFileSync(`${dir}app.css`) }],
    ["/ui/uplot.js", { type: js, body: readFileSync(`${uplotDir}uPlot.iife.min.js`) }],
    ["/ui/uplot.css", { type: css, body: readFileSync(`${uplotDir}uPlot.min.css`) }],
  ]);
}
