#!/usr/bin/env bash
# The API against its own OpenAPI document, as an outside fuzzer sees it: starts a hub in
# sandbox mode in a temporary directory (release build), checks the served document with
# openapi-spec-validator, then runs schemathesis (property-based: positive and negative
# data, every check) signed in as the admin. Both tools come from PyPI into a virtualenv
# under target/. Exits non-zero on any failure; the report is in target/conformance/.
#
#   scripts/conformance.sh              # 25 examples per operation
#   EXAMPLES=200 scripts/conformance.sh # a longer run
#   scripts/conformance.sh --phases stateful  # more options go to schemathesis run
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES="${EXAMPLES:-25}"
OUT=target/conformance
VENV=target/conformance-venv
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis>=4,<5" "openapi-spec-validator>=0.7"
fi

cargo build --release --locked -q
DATA="$(mktemp -d)"
PASSWORD="conformance-admin-$(date +%s)"
# The rate limits are the hub's defence against floods; a fuzzer is one, on purpose.
ATENDE_DATA_DIR="$DATA" ATENDE_BIND=127.0.0.1:0 ATENDE_ADMIN_PASSWORD="$PASSWORD" \
  ATENDE_RATE_LIMIT=100000 ATENDE_RATE_LIMIT_BURST=100000 \
  ATENDE_USER_RATE_LIMIT=100000 ATENDE_USER_RATE_LIMIT_BURST=100000 \
  target/release/atende >"$OUT/hub.log" 2>&1 &
HUB=$!
trap 'kill $HUB 2>/dev/null; rm -rf "$DATA"' EXIT

URL=""
for _ in $(seq 100); do
  URL="$(grep -o 'listening on http://[0-9.:]*' "$OUT/hub.log" | head -1 | cut -d' ' -f3 || true)"
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "the hub did not start:"; cat "$OUT/hub.log"; exit 1; }

curl -fsS "$URL/api/v1/openapi.json" -o "$OUT/openapi.json"
"$VENV/bin/openapi-spec-validator" "$OUT/openapi.json"

TOKEN="$(curl -fsS "$URL/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"admin@localhost\",\"password\":\"$PASSWORD\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"

# Signing out and changing the password end the run's own session, so they are left out
# (tests/api/auth.rs covers them), and /ws is a WebSocket handshake, not an HTTP answer
# (tests/api/realtime.rs). scripts/schemathesis.toml lists the few rules JSON Schema cannot
# state. Run from $OUT, where schemathesis keeps its cache.
ROOT="$PWD"
cd "$OUT"
"$ROOT/$VENV/bin/schemathesis" --config-file "$ROOT/scripts/schemathesis.toml" \
  run "$URL/api/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples "$EXAMPLES" \
  --exclude-path-regex 'auth/(logout|password)|/ws$' \
  --warnings off \
  --report junit --report-dir . "$@"
