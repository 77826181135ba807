// Compares two V8 heap snapshots of one process (the soak's SOAK_HEAPSNAPSHOT_DIR, test/scale/mem-probe.mjs):
//   node test/scale/heap-diff.mjs A.heapsnapshot B.heapsnapshot [--paths KEY [N]]
// Prints by constructor (objects) or type: count and self size in A and in B, and the objects of B that A did
// not hold (a node id not in A: V8 keeps an object's id across snapshots of one process), i.e. what piled up.
// --paths KEY N: retaining paths (shortest from the GC roots, weak edges skipped) of N of B's newest KEY objects.
import { readFileSync } from "node:fs";

function load(file) {
  const s = JSON.parse(readFileSync(file, "utf8"));
  const m = s.snapshot.meta;
  return {
    nodes: s.nodes,
    edges: s.edges,
    strings: s.strings,
    nf: m.node_fields.length,
    ef: m.edge_fields.length,
    nodeTypes: m.node_types[0],
    edgeTypes: m.edge_types[0],
    nType: m.node_fields.indexOf("type"),
    nName: m.node_fields.indexOf("name"),
    nId: m.node_fields.indexOf("id"),
    nSize: m.node_fields.indexOf("self_size"),
    nEdges: m.node_fields.indexOf("edge_count"),
    eType: m.edge_fields.indexOf("type"),
    eName: m.edge_fields.indexOf("name_or_index"),
    eTo: m.edge_fields.indexOf("to_node"),
  };
}
function key(h, i) {
  const t = h.nodeTypes[h.nodes[i + h.nType]];
  const name = h.strings[h.nodes[i + h.nName]];
  if (t === "object" || t === "closure" || t === "regexp") return t === "object" ? name : `(${t}) ${name}`.slice(0, 80);
  if (t === "native") return `(native) ${name}`.slice(0, 80);
  return `(${t})`;
}
function stats(h, old = null) {
  const out = new Map();
  for (let i = 0; i < h.nodes.length; i += h.nf) {
    if (old && old.has(h.nodes[i + h.nId])) continue;
    const k = key(h, i);
    const e = out.get(k) ?? { n: 0, size: 0 };
    e.n++;
    e.size += h.nodes[i + h.nSize];
    out.set(k, e);
  }
  return out;
}
const [a, b] = [load(process.argv[2]), load(process.argv[3])];
const sa = stats(a),
  sb = stats(b);
const idsA = new Set();
for (let i = 0; i < a.nodes.length; i += a.nf) idsA.add(a.nodes[i + a.nId]);
const fresh = stats(b, idsA);
const tot = (s) => [...s.values()].reduce((x, e) => ({ n: x.n + e.n, size: x.size + e.size }), { n: 0, size: 0 });
const kb = (x) => (x / 1024).toFixed(0).padStart(8);
console.log(
  `A: ${tot(sa).n} nodes ${kb(tot(sa).size)} KB   B: ${tot(sb).n} nodes ${kb(tot(sb).size)} KB   B allocated after A: ${tot(fresh).n} nodes ${kb(tot(fresh).size)} KB`,
);
const keys = [...new Set([...sa.keys(), ...sb.keys()])];
const rows = keys.map((k) => ({
  k,
  a: sa.get(k) ?? { n: 0, size: 0 },
  b: sb.get(k) ?? { n: 0, size: 0 },
  f: fresh.get(k) ?? { n: 0, size: 0 },
}));
console.log(
  "\nby growth of self size (top 40):\n   countA   countB   dCount    KB A     KB B    dKB   newInB  newKB  key",
);
for (const r of rows.sort((x, y) => y.b.size - y.a.size - (x.b.size - x.a.size)).slice(0, 40))
  console.log(
    `${String(r.a.n).padStart(9)}${String(r.b.n).padStart(9)}${String(r.b.n - r.a.n).padStart(9)}${kb(r.a.size)} ${kb(r.b.size)} ${kb(r.b.size - r.a.size)} ${String(r.f.n).padStart(8)}${kb(r.f.size)}  ${r.k}`,
  );
console.log("\nobjects in B allocated after A, by count (top 30):");
for (const r of rows.sort((x, y) => y.f.n - x.f.n).slice(0, 30))
  console.log(`${String(r.f.n).padStart(9)} ${kb(r.f.size)} KB  ${r.k}`);

const pi = process.argv.indexOf("--paths");
if (pi > 0) {
  const want = process.argv[pi + 1],
    n = Number(process.argv[pi + 2] ?? 5);
  const h = b,
    N = h.nodes.length / h.nf;
  const firstEdge = new Uint32Array(N + 1);
  for (let i = 0, e = 0; i < N; i++) {
    firstEdge[i] = e;
    e += h.nodes[i * h.nf + h.nEdges] * h.ef;
  }
  firstEdge[N] = h.edges.length;
  const parent = new Int32Array(N).fill(-1),
    parentEdge = new Int32Array(N).fill(-1);
  parent[0] = 0;
  const queue = new Uint32Array(N);
  let qh = 0,
    qt = 0;
  queue[qt++] = 0;
  while (qh < qt) {
    const x = queue[qh++];
    for (let e = firstEdge[x]; e < firstEdge[x + 1]; e += h.ef) {
      const et = h.edgeTypes[h.edges[e + h.eType]];
      if (et === "weak" || et === "shortcut") continue;
      const y = h.edges[e + h.eTo] / h.nf;
      if (parent[y] !== -1) continue;
      parent[y] = x;
      parentEdge[y] = e;
      queue[qt++] = y;
    }
  }
  const cand = [];
  for (let i = 0; i < N; i++) if (key(h, i * h.nf) === want && !idsA.has(h.nodes[i * h.nf + h.nId])) cand.push(i);
  console.log(`\n${cand.length} ${want} allocated after A; paths of the newest ${n}:`);
  for (const x0 of cand.slice(-n)) {
    const path = [];
    for (let x = x0; x !== 0 && parent[x] !== -1 && path.length < 30; x = parent[x]) {
      const e = parentEdge[x];
      const et = h.edgeTypes[h.edges[e + h.eType]];
      const en = et === "element" || et === "hidden" ? `[${h.edges[e + h.eName]}]` : h.strings[h.edges[e + h.eName]];
      path.push(`${key(h, parent[x] * h.nf)} --${en}-->`);
    }
    console.log(`- ${parent[x0] === -1 ? "(unreachable by strong edges)" : path.reverse().join(" ")} ${want}`);
  }
}
