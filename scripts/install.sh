#!/usr/bin/env bash
# Installs claude-failover from this checkout for the current user, no root needed:
#   a built copy in ${XDG_DATA_HOME:-~/.local/share}/claude-failover/<version>-<source hash>/ and a symlink
#   ~/.local/bin/claude-failover pointing at it.
# A copy whose sources match this checkout is reused as it is (a re-run takes a second). Older copies are
# never deleted: running sessions may run the Claude Code CLI that lives in their node_modules.
# node_modules: the checkout's own are reused (hard-linked where possible) when they match
# package-lock.json; otherwise `npm ci` runs in the new copy.
# Prints the installed copy's directory as the last line of stdout; progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'claude-failover: %s\n' "$*" >&2; }
die() { printf 'claude-failover: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "Node.js 20 or later is needed (https://nodejs.org, or your package manager)"
nodev="$(node --version)"; nodev="${nodev#v}"
[ "${nodev%%.*}" -ge 20 ] 2>/dev/null || die "Node.js $nodev is too old: 20 or later is needed"
command -v npm >/dev/null 2>&1 || die "npm is needed (it comes with Node.js)"

# (sed, not node: a re-run should cost as little as possible)
version="$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$here/package.json" | head -n 1)"
[ -n "$version" ] || die "cannot read the version from $here/package.json"
# The source hash: everything the build reads. A checkout change gives a new copy beside the old ones.
hash="$(cd "$here" && { printf '%s\n' package.json package-lock.json tsconfig.json; find src -type f -name '*.ts' | LC_ALL=C sort; } \
  | xargs sha256sum | sha256sum | cut -c1-12)"
share="${XDG_DATA_HOME:-$HOME/.local/share}/claude-failover"
dest="$share/$version-$hash"
bindir="$HOME/.local/bin"

if [ -f "$dest/.installed" ]; then
  say "claude-failover $version is installed and up to date ($dest)"
else
  say "installing claude-failover $version from $here into $dest (once per version)"
  mkdir -p "$share"
  stage="$(mktemp -d "$share/.stage-$version-$hash.XXXXXX")"
  trap 'rm -rf "$stage"' EXIT
  cp "$here/package.json" "$here/package-lock.json" "$stage/"
  cp -R "$here/src" "$stage/src"
  # Build only src/ (the checkout's tsconfig also covers tests and benchmarks).
  node -e '
    const fs = require("fs"); const [from, to] = process.argv.slice(1);
    const t = JSON.parse(fs.readFileSync(from, "utf8")); t.include = ["src/**/*.ts"];
    fs.writeFileSync(to, JSON.stringify(t, null, 2));' "$here/tsconfig.json" "$stage/tsconfig.json"
  # Do the checkout's node_modules hold exactly what package-lock.json pins? (npm's hidden lockfile says.)
  reuse=0
  if [ -f "$here/node_modules/.package-lock.json" ] && node -e '
    const fs = require("fs"); const [lock, hidden] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")).packages || {});
    for (const [k, v] of Object.entries(lock)) {
      if (k === "" || !k.startsWith("node_modules/")) continue;
      const h = hidden[k];
      if (!h) { if (v.optional) continue; process.exit(1); }
      if (h.version !== v.version) process.exit(1);
    }' "$here/package-lock.json" "$here/node_modules/.package-lock.json"; then reuse=1; fi
  if [ "$reuse" = 1 ]; then
    say "reusing the checkout's node_modules (they match package-lock.json)"
    cp -al "$here/node_modules/." "$stage/node_modules/" 2>/dev/null || { rm -rf "$stage/node_modules"; cp -a "$here/node_modules/." "$stage/node_modules/"; }
  else
    say "installing dependencies with npm ci (about a minute; includes the pinned Claude Code CLI)"
    (cd "$stage" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  say "building"
  # Emit only: type checking is the test suite's job (scripts/test.sh), and skipping it halves the build.
  (cd "$stage" && node node_modules/typescript/bin/tsc -p tsconfig.json --noCheck) >&2
  chmod 755 "$stage/dist/src/cli/bin.js"
  touch "$stage/.installed"
  # Atomic: a concurrent run that got there first wins and this copy is dropped.
  if mv -T "$stage" "$dest" 2>/dev/null; then trap - EXIT; else say "another run installed $dest meanwhile; using it"; fi
  say "installed $dest"
fi

mkdir -p "$bindir"
link="$bindir/claude-failover"
if [ "$(readlink "$link" 2>/dev/null || true)" != "$dest/dist/src/cli/bin.js" ]; then
  ln -sfn "$dest/dist/src/cli/bin.js" "$link.tmp.$$" && mv -Tf "$link.tmp.$$" "$link"
  say "linked $link -> $dest/dist/src/cli/bin.js"
fi
case ":$PATH:" in
  *":$bindir:"*) ;;
  *) say "note: $bindir is not on your PATH; add it (e.g. in ~/.bashrc): export PATH=\"\$HOME/.local/bin:\$PATH\"" ;;
esac
others="$(find "$share" -mindepth 1 -maxdepth 1 -type d ! -name '.*' ! -path "$dest" | wc -l)"
[ "$others" -gt 0 ] && say "$others older install(s) kept in $share (sessions may run their CLI; remove them by hand when none does)"
printf '%s\n' "$dest"
