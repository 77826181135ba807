// dependency-cruiser config (issue 15, point 7): `npm run check:cycles` fails on an import cycle
// between folders of src/ (e.g. src/cli -> src/ops -> src/cli). Cycles between files of one folder
// are allowed. Type-only imports count: they still couple the folders.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-folder-cycle",
      severity: "error",
      comment: "An import cycle between folders of src/: move the shared piece down into the folder both import.",
      scope: "folder",
      from: { path: "^src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".mjs", ".json"] },
  },
};
