#!/usr/bin/env bash
# Makes a fresh clone runnable on a machine that has only Node.js and npm:
# fetches the pinned Bun from the npm registry into .tmp/bun (a scratch
# prefix of its own, so npm never resolves this project's dependencies: their
# engine fields are for the Bun runtime that runs them, not for the Node.js
# that only fetches Bun), then installs every dependency from bun.lock with
# that Bun (which puts the same pinned Bun at node_modules/.bin/bun).
# Safe to run again; does nothing when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
BUN_VERSION=$(node -p 'require("./package.json").devDependencies.bun')
BUN=node_modules/.bin/bun
if [ ! -x "$BUN" ] || [ "$("$BUN" --version 2>/dev/null)" != "$BUN_VERSION" ]; then
  SEED=.tmp/bun
  if [ ! -x "$SEED/node_modules/.bin/bun" ] || [ "$("$SEED/node_modules/.bin/bun" --version 2>/dev/null)" != "$BUN_VERSION" ]; then
    echo "bootstrap: fetching bun@$BUN_VERSION from the npm registry" >&2
    mkdir -p "$SEED"
    echo '{"private":true}' > "$SEED/package.json"
    npm install --prefix "$SEED" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "bun@$BUN_VERSION" >&2
  fi
  echo "bootstrap: installing dependencies from bun.lock" >&2
  "$SEED/node_modules/.bin/bun" install --frozen-lockfile >&2
  touch node_modules/.skyclust-installed
fi
if [ ! -f node_modules/.skyclust-installed ] || [ bun.lock -nt node_modules/.skyclust-installed ] || [ package.json -nt node_modules/.skyclust-installed ]; then
  echo "bootstrap: installing dependencies from bun.lock" >&2
  "$BUN" install --frozen-lockfile >&2
  touch node_modules/.skyclust-installed
fi
