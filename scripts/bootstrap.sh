#!/usr/bin/env bash
# Makes a fresh clone runnable on a machine that has only Node.js and npm:
# installs the pinned Bun from the npm registry into node_modules, then every
# dependency from bun.lock. Safe to run again; does nothing when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
BUN_VERSION=$(node -p 'require("./package.json").devDependencies.bun')
BUN=node_modules/.bin/bun
if [ ! -x "$BUN" ] || [ "$("$BUN" --version 2>/dev/null)" != "$BUN_VERSION" ]; then
  echo "bootstrap: installing bun@$BUN_VERSION from the npm registry" >&2
  npm install --no-save --no-package-lock --no-audit --no-fund "bun@$BUN_VERSION" >&2
fi
if [ ! -f node_modules/.skyclust-installed ] || [ bun.lock -nt node_modules/.skyclust-installed ] || [ package.json -nt node_modules/.skyclust-installed ]; then
  echo "bootstrap: installing dependencies from bun.lock" >&2
  "$BUN" install --frozen-lockfile >&2
  touch node_modules/.skyclust-installed
fi
