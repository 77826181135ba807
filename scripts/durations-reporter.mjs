// A node:test reporter that sums the top-level tests' durations per file and prints the slowest files
// at the end: where the suite's time goes (CI is meant to stay near 10 minutes).
export default async function* durations(source) {
  const perFile = new Map();
  for await (const ev of source) {
    if ((ev.type === "test:pass" || ev.type === "test:fail") && ev.data.nesting === 0 && ev.data.file) {
      const f = ev.data.file.replace(`${process.cwd()}/`, "");
      perFile.set(f, (perFile.get(f) ?? 0) + (ev.data.details?.duration_ms ?? 0));
    }
  }
  const rows = [...perFile].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((s, [, ms]) => s + ms, 0);
  yield `\n# time per file (top 20 of ${rows.length}, ${Math.round(total / 1000)} s in all)\n`;
  for (const [f, ms] of rows.slice(0, 20)) yield `#   ${(ms / 1000).toFixed(1).padStart(7)} s  ${f}\n`;
}
