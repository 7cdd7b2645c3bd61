#!/usr/bin/env bash
# Every check and test of the workspace, as CI runs them. Everything builds in release mode, so
# that the tests, the demo and the benchmark share one build (SQLCipher and OpenSSL included).
set -euo pipefail
cd "$(dirname "$0")/.."

# The hub's tests and benchmarks run on PostgreSQL too: a throwaway server for the whole run,
# unless OUTREACH_TEST_DATABASE names one (see scripts/with-postgres.sh).
if [ -z "${OUTREACH_TEST_DATABASE:-}" ]; then
    exec bash scripts/with-postgres.sh bash "$0" "$@"
fi

step() { printf '\n== %s\n' "$*"; }

step "formatting"
cargo fmt --all -- --check

step "lints"
cargo clippy --release --workspace --all-targets --locked -- -D warnings

step "tests"
cargo test --release --workspace --locked

step "Swift bindings match the Rust API"
bash scripts/check-swift-bindings.sh

step "Kotlin host tests: the generated bindings on the JVM, against the library and a real hub"
bash android/host-test.sh

step "SDK API: the compatibility check itself, then the Kotlin and Swift API against the last release"
bash scripts/test-api-check.sh
bash scripts/check-sdk-api.sh

step "benchmark runs (their figures mean something only on a quiet machine)"
cargo run --release --locked -p outreach-tests --bin bench -- local
cargo run --release --locked -p outreach-tests --bin bench -- sync
database="$OUTREACH_TEST_DATABASE"
if [ -n "${OUTREACH_TEST_DATABASE_CA:-}" ]; then
    database="$database?sslrootcert=$OUTREACH_TEST_DATABASE_CA"
fi
cargo run --release --locked -p outreach-tests --bin bench -- sync --database "$database"

printf '\nall checks passed\n'
