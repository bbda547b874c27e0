#!/usr/bin/env bash
# The whole test run: servers the tests need, type-check, lint, the jest suite.
# On a bare machine it installs Debian's redis-server and nats-server and builds FerretDB (the tests
# start them on 127.0.0.1 with free ports themselves), then runs the suite on the file store and on
# FerretDB. Set MONGO_URI to run the store's pass against a MongoDB of yours instead.
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

# FerretDB (MongoDB wire protocol over SQLite), for the store's tests on a MongoDB-wire server: built
# once from the Go module proxy into a cache folder (the tests find it there, see
# test/support/servers.ts). Its module ships without build/version/version.txt, which the binary
# needs at start, so the source is copied and the file written before `go build`.
FERRETDB_VERSION=v1.24.2
FERRETDB_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/repaymesh/ferretdb-$FERRETDB_VERSION"
build_ferretdb() {
  if ! command -v go >/dev/null 2>&1; then
    echo "Installing golang-go (Debian package) to build FerretDB…"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends golang-go ca-certificates >/dev/null
  fi
  local minor
  minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  if [ "${minor:-0}" -lt 21 ]; then
    echo "FerretDB $FERRETDB_VERSION needs Go >= 1.24 (or >= 1.21, which fetches it); this machine has $(go env GOVERSION)." >&2
    echo "Install a newer Go (https://go.dev/dl/) or set FERRETDB_BIN to a ferretdb binary." >&2
    return 1
  fi
  echo "Building FerretDB $FERRETDB_VERSION into $FERRETDB_DIR…"
  local src tmp
  src=$(GOTOOLCHAIN=auto GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$src" ] && [ -d "$src" ] || { echo "go mod download of FerretDB $FERRETDB_VERSION failed" >&2; return 1; }
  tmp=$(mktemp -d)
  cp -R "$src/." "$tmp/"
  chmod -R u+w "$tmp"
  echo "$FERRETDB_VERSION" >"$tmp/build/version/version.txt"
  mkdir -p "$FERRETDB_DIR"
  (cd "$tmp" && GOTOOLCHAIN=auto go build -trimpath -o "$FERRETDB_DIR/ferretdb.new" ./cmd/ferretdb)
  mv "$FERRETDB_DIR/ferretdb.new" "$FERRETDB_DIR/ferretdb"
  rm -rf "$tmp"
  "$FERRETDB_DIR/ferretdb" --version | head -1
}
if [ -n "${FERRETDB_BIN:-}" ]; then
  [ -x "$FERRETDB_BIN" ] || { echo "FERRETDB_BIN=$FERRETDB_BIN is not an executable" >&2; exit 1; }
elif [ ! -x "$FERRETDB_DIR/ferretdb" ] && ! ferretdb --version >/dev/null 2>&1; then
  # (a `go install`ed ferretdb panics at start for want of version.txt: it does not count)
  build_ferretdb
fi

[ -d node_modules ] || npm ci

echo "== type-check"
npx tsc --noEmit -p tsconfig.json
echo "== lint"
npx eslint .
# The suite runs twice: on the file store, then on a MongoDB-wire server (a FerretDB started for the
# run by scripts/with-ferret.ts, or the MongoDB in MONGO_URI if set). The second pass leaves out the
# suites that never open a store (pure domain logic, the simulated banks, the locks, the fault
# simulation over its in-memory stores), the store's own FerretDB tests (they start their own), and
# the 2,000-plan slot-fault scenarios (about the executors and Redis; the data node's store there is
# the file store). TEST_STORES=file or TEST_STORES=mongo runs one pass.
STORE_INDEPENDENT=(/test/sim/ /test/unit/domain/ /test/unit/channels/ /test/unit/locks/ /test/integration/channel-health /test/integration/mongo-store /test/cluster/slot-faults)
stores="${TEST_STORES:-file,mongo}"
if [[ ",$stores," == *",file,"* && -z "${MONGO_URI:-}" ]]; then
  echo "== tests on the file store"
  npx jest --ci "$@"
fi
if [[ ",$stores," == *",mongo,"* || -n "${MONGO_URI:-}" ]]; then
  if [ -n "${MONGO_URI:-}" ]; then
    echo "== tests on the MongoDB in MONGO_URI"
    npx jest --ci "$@" --testPathIgnorePatterns "${STORE_INDEPENDENT[@]}"
  else
    echo "== tests on FerretDB (MongoDB wire protocol)"
    npx tsx scripts/with-ferret.ts npx jest --ci "$@" --testPathIgnorePatterns "${STORE_INDEPENDENT[@]}"
  fi
fi
