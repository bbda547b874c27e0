#!/usr/bin/env bash
# The whole test run: servers the tests need, type-check, lint, the jest suite.
# On a bare machine it installs Debian's redis-server and nats-server (the tests start them on
# 127.0.0.1 with free ports themselves). Set MONGO_URI to run the same suite against MongoDB.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
{ command -v nats-server || [ -x /usr/sbin/nats-server ]; } >/dev/null 2>&1 || need+=(nats-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} (Debian packages)…"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian packages may start a system redis on 6379; the tests never use it.

[ -d node_modules ] || npm ci

echo "== type-check"
npx tsc --noEmit -p tsconfig.json
echo "== lint"
npx eslint .
echo "== tests"
npx jest --ci "$@"
