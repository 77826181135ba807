#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs tmux if missing (apt-get, as root) and, where it
# can, systemd's tools (systemd-analyze verifies the unit files; without it that test skips), the npm
# dependencies (including the pinned Claude Code CLI the end-to-end tests run), type-checks, lints, checks
# for import cycles between src/ folders, then runs unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null 2>&1 ||
      echo "note: systemd tools not installed; the systemd-analyze test will be skipped" >&2
    # The dashboard's browser test drives Debian's chromium with playwright-core; without it that test
    # skips, or fails under CI. A failed install shows apt's own error.
    if ! command -v chromium >/dev/null 2>&1; then
      if ! apt_out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium 2>&1); then
        printf '%s\n' "$apt_out" | tail -n 20 >&2
        echo "error: chromium could not be installed (above: apt-get's output); the dashboard's browser test will skip, or fail under CI" >&2
      fi
    fi
    # The shared store's PostgreSQL tests start a private server from Debian's postgresql package (initdb in a
    # temp dir, run as the package's postgres user); without it they skip, or fail under CI.
    if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
      if ! apt_out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql 2>&1); then
        printf '%s\n' "$apt_out" | tail -n 20 >&2
        echo "error: postgresql could not be installed (above: apt-get's output); the shared store's PostgreSQL tests will skip, or fail under CI" >&2
      fi
    fi
  fi
fi
command -v tmux >/dev/null 2>&1 || { echo "tmux is required: install it (e.g. sudo apt-get install tmux) and run again" >&2; exit 1; }
npm ci --no-audit --no-fund
npm run typecheck
# House checks (issue 15, point 7): formatting (Prettier, .prettierrc.json; `npm run format` fixes it), ESLint
# (eslint.config.js, no finding allowed) and no
# import cycle between folders of src/ (.dependency-cruiser.cjs). They
# run before the tests; a failure fails the run, but only after the tests, so one run shows every problem.
checks=0
npm run format:check || checks=1
npm run lint || checks=1
npm run check:cycles || checks=1
npm test
if [ "$checks" != 0 ]; then
  echo "error: the tests ran, but npm run format:check, lint or check:cycles failed (their output is above)" >&2
  exit 1
fi
