#!/usr/bin/env bash
# The README's first command. Run it from the folder you want a Claude Code session on:
#   bash /path/to/claude-failover/scripts/quickstart.sh
# 1. installs `claude-failover` for the current user (scripts/install.sh: ~/.local/bin, no root; skipped
#    when the installed copy is up to date, so a re-run starts in seconds);
# 2. creates a bearer token for the control plane once, in $XDG_CONFIG_HOME/claude-failover/token.env
#    (mode 0600), unless CLAUDE_FAILOVER_TOKEN is set;
# 3. runs the daemon in the foreground on its embedded defaults: your config if
#    $XDG_CONFIG_HOME/claude-failover/config.yaml exists, else a generated one (one account = your own
#    ~/.claude, used as is and never modified; one session on the current folder).
# Ctrl-C stops the daemon; the sessions keep running in tmux (`claude-failover stop --sessions` ends them).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
workdir="$(pwd)"
say() { printf 'claude-failover: %s\n' "$*" >&2; }
command -v tmux >/dev/null 2>&1 || { say "tmux is required (e.g. sudo apt-get install tmux)"; exit 1; }

dest="$(bash "$here/scripts/install.sh" | tail -n 1)"
bin="$dest/dist/src/cli/bin.js"

cfgdir="${XDG_CONFIG_HOME:-$HOME/.config}/claude-failover"
cfg="${CLAUDE_FAILOVER_CONFIG:-$cfgdir/config.yaml}"
mkdir -p "$cfgdir" && chmod 700 "$cfgdir"
if [ -z "${CLAUDE_FAILOVER_TOKEN:-}" ]; then
  if [ ! -f "$cfgdir/token.env" ]; then
    (umask 077; printf 'CLAUDE_FAILOVER_TOKEN=%s\n' "$(node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("hex"))')" > "$cfgdir/token.env")
    say "wrote a bearer token for the control plane to $cfgdir/token.env (mode 0600)"
  fi
  set -a; . "$cfgdir/token.env"; set +a
fi

# Already running? Asked only when the default control socket exists (a node start costs a second).
sock="${XDG_STATE_HOME:-$HOME/.local/state}/claude-failover/control.sock"
if [ -S "$sock" ] && node "$bin" status >/dev/null 2>&1; then
  say "the daemon is already running: claude-failover status"
  exit 0
fi
if [ -f "$cfg" ]; then
  say "using the config $cfg"
else
  say "no config yet: the daemon writes $cfg with one account (your ~/.claude, used as is) and one session on $workdir"
fi
# The session name the first-run config gives this folder (config/default-config.ts defaultSessionName).
name="NAME"
if [ ! -f "$cfg" ]; then
  name="$(basename "$workdir" | sed -e 's/[^A-Za-z0-9_-]/-/g' -e 's/^[^A-Za-z0-9]*//' | cut -c1-64)"
  name="${name:-main}"
fi
say "starting the daemon in the foreground (Ctrl-C stops it; the sessions keep running in tmux)"
say "in another terminal: claude-failover status    (sessions and accounts)"
say "                     claude-failover attach $name    (the supervised Claude Code$([ "$name" = NAME ] && echo '; NAME from status'))"
say "stop everything:     claude-failover stop --sessions"
cd "$workdir"
exec node "$bin" daemon
