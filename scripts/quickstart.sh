#!/usr/bin/env bash
# Installs claude-failover from this checkout and runs the daemon in the foreground on its embedded
# defaults: your config if $XDG_CONFIG_HOME/claude-failover/config.yaml exists, else a generated one
# (one account = your own ~/.claude, used as is and never modified; one session on the current
# directory). A bearer token for the control plane is generated once into
# $XDG_CONFIG_HOME/claude-failover/token.env (mode 0600) unless CLAUDE_FAILOVER_TOKEN is set.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
workdir="$(pwd)"
command -v tmux >/dev/null 2>&1 || { echo "tmux is required (e.g. sudo apt-get install tmux)" >&2; exit 1; }
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
cfgdir="${XDG_CONFIG_HOME:-$HOME/.config}/claude-failover"
mkdir -p "$cfgdir" && chmod 700 "$cfgdir"
if [ -z "${CLAUDE_FAILOVER_TOKEN:-}" ]; then
  if [ ! -f "$cfgdir/token.env" ]; then
    (umask 077; printf 'CLAUDE_FAILOVER_TOKEN=%s\n' "$(node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("hex"))')" > "$cfgdir/token.env")
    echo "wrote a bearer token to $cfgdir/token.env (source it to use 'claude-failover status')" >&2
  fi
  set -a; . "$cfgdir/token.env"; set +a
fi
cd "$workdir"
exec node "$here/dist/src/cli/bin.js" daemon
