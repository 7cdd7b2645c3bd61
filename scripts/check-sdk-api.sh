#!/usr/bin/env bash
# The SDK's public API, Kotlin and Swift, as the apps compile against it: dumped, drift-checked and
# checked for compatibility with the last release.
#
#   scripts/check-sdk-api.sh           regenerate the Kotlin bindings from the release library,
#                                      dump the public API of the Kotlin (generated + the Kotlin
#                                      layer of android/src/main/kotlin) and of the committed Swift
#                                      (ios/Sources/OutreachCore, which check-swift-bindings.sh
#                                      keeps current), then fail if
#                                        - the dump differs from the committed sdk-api/*.api
#                                          (run with --write and commit them), or
#                                        - a declaration of the last release (sdk-api/released/
#                                          <version>/) was removed or changed without a major
#                                          version bump in Cargo.toml and a CHANGELOG.md section
#                                          for the new version (scripts/api-check.py check).
#   scripts/check-sdk-api.sh --write   update sdk-api/*.api instead of checking them for drift.
#
# At a release, copy sdk-api/*.api to sdk-api/released/<version>/ (the version in their header).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
out=$target/sdk-api
rm -rf "$out"
mkdir -p "$out/kotlin"
# The whole workspace, as the tests build it: the same features, so nothing is rebuilt.
cargo build --release --locked --workspace
"$target/release/uniffi-bindgen" generate --library "$target/release/liboutreach_ffi.so" \
    --language kotlin --no-format --out-dir "$out/kotlin" >/dev/null
version=$(python3 scripts/api-check.py version --cargo Cargo.toml)
python3 scripts/api-check.py dump --version "$version" --out "$out/dump" \
    --kotlin "$out/kotlin/org/outreach/core/outreach_ffi.kt" "$out/kotlin/org/outreach/core/model/outreach_core.kt" \
    android/src/main/kotlin/org/outreach/core/*.kt \
    --swift ios/Sources/OutreachCore/*.swift

if [ "${1:-}" = "--write" ]; then
    cp "$out/dump/kotlin.api" "$out/dump/swift.api" sdk-api/
    echo "wrote sdk-api/kotlin.api and sdk-api/swift.api ($version)"
    exit 0
fi
for api in kotlin.api swift.api; do
    if ! diff -u "sdk-api/$api" "$out/dump/$api" >"$out/drift.diff"; then
        head -n 60 "$out/drift.diff" >&2
        echo "the SDK's API drifted from sdk-api/$api: run scripts/check-sdk-api.sh --write, and commit it with a CHANGELOG.md entry" >&2
        exit 1
    fi
done
released=$(find sdk-api/released -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1)
if [ -z "$released" ]; then
    echo "no released API under sdk-api/released/" >&2
    exit 1
fi
python3 scripts/api-check.py check --current "$out/dump" --baseline "sdk-api/released/$released" \
    --version "$version" --changelog CHANGELOG.md
