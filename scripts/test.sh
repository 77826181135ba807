#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs tmux if missing (apt-get, as root), the npm
# dependencies (including the pinned Claude Code CLI the end-to-end tests run), type-checks, then runs
# unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux
  else
    echo "tmux is required: install it (e.g. sudo apt-get install tmux) and run again" >&2
    exit 1
  fi
fi
npm ci --no-audit --no-fund
npm run typecheck
npm test
