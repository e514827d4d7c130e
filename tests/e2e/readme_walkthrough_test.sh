#!/usr/bin/env bash
# Runs the README's grpcurl walkthrough exactly as printed (only the address is swapped for a free
# port, and run-local's credentials directory for one of its own, made the same way) against a
# fresh walletd over TLS with a tokens file on its own schema, with grpcurl_lite standing in for
# grpcurl, and checks what the README promises: reflection, health, the money moved, the replay,
# the refused transfer and the call without a token.
#   readme_walkthrough_test.sh WALLETD GRPCURL_LITE README
set -euo pipefail
walletd_bin=$1 grpcurl_bin=$2 readme=$3
: "${WALLETD_TEST_DSN:?WALLETD_TEST_DSN is not set: run tests/run, which starts PostgreSQL}"
command -v jq >/dev/null || { echo "jq is missing: run deploy/install-deps"; exit 1; }

tmp=$(mktemp -d)
schema="readme_$$_$RANDOM"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  psql "$WALLETD_TEST_DSN" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
psql "$WALLETD_TEST_DSN" -qc "CREATE SCHEMA $schema"
creds=$("$(dirname "$readme")/deploy/dev-credentials" "$tmp/credentials")
"$walletd_bin" --tls_cert="$creds/server.pem" --tls_key="$creds/server.key" \
  --tokens_file="$creds/tokens" --dsn="$WALLETD_TEST_DSN options='-csearch_path=$schema'" \
  --listen=127.0.0.1:0 2>"$tmp/walletd.log" &
pid=$!
address=""
for _ in $(seq 1 300); do
  address=$(sed -n 's/.*"msg":"listening","address":"\([^"]*\)".*/\1/p' "$tmp/walletd.log")
  [ -n "$address" ] && break
  sleep 0.1
done
[ -n "$address" ] || { cat "$tmp/walletd.log"; echo "walletd did not start"; exit 1; }

block=$(awk '/<!-- walkthrough:start -->/{on=1; next} /<!-- walkthrough:end -->/{on=0} on' "$readme" |
        sed -n '/^```sh$/,/^```$/p' | sed '1d;$d')
[ -n "$block" ] || { echo "no walkthrough block in $readme"; exit 1; }
ln -s "$grpcurl_bin" "$tmp/grpcurl"
# Every failing command is recorded; the walkthrough has exactly two, on purpose.
PATH="$tmp:$PATH" bash -o pipefail -c "trap 'echo \"\$BASH_COMMAND\" >>$tmp/failed' ERR
$(printf %s "$block" | sed -e "s|localhost:50051|$address|g" \
                              -e "s|/var/tmp/walletd-\$(id -un)/credentials|$creds|g")" \
  >"$tmp/out" 2>&1 || true
cat "$tmp/out"

fail() { echo "README walkthrough: $*"; exit 1; }
grep -q '^wallet.v1.WalletService$' "$tmp/out" || fail "list does not show wallet.v1.WalletService"
grep -q '"status": "SERVING"' "$tmp/out" || fail "health is not SERVING"
grep -q '"replayed": true' "$tmp/out" || fail "the repeated transfer was not a replay"
grep -q '"minorUnits": "2500"' "$tmp/out" || fail "Bob does not hold 2500"
grep -q 'Code: FailedPrecondition' "$tmp/out" || fail "the unaffordable transfer did not fail"
grep -q '"reason": "INSUFFICIENT_FUNDS"' "$tmp/out" || fail "no INSUFFICIENT_FUNDS reason"
grep -q 'Code: Unauthenticated' "$tmp/out" || fail "the call without a token was not refused"
grep -q '"reason": "UNAUTHENTICATED"' "$tmp/out" || fail "no UNAUTHENTICATED reason"
! grep -qF "$(cat "$creds/token")" "$tmp/walletd.log" || fail "the token reached walletd's log"
grep -q '"tls":"on"' "$tmp/walletd.log" || fail "walletd did not serve TLS"
touch "$tmp/failed"
# A failing command spanning several lines is recorded on several lines, the first its start.
[ "$(grep -c '^grpcurl\|^[A-Z]*=' "$tmp/failed")" = 2 ] && grep -q 'pay-2' "$tmp/failed" &&
  grep -q "^grpcurl -cacert [^ ]* -d '{\"wallet_id\"" "$tmp/failed" ||
  fail "expected exactly two failing commands (pay-2, Balance without a token), got: $(cat "$tmp/failed")"
balance=$(psql "$WALLETD_TEST_DSN" -Atc "SELECT sum(balance) FROM $schema.wallets")
[ "$balance" = 10000 ] || fail "money not conserved: $balance"
echo "README walkthrough: OK"
