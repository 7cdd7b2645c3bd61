#!/usr/bin/env bash
# Regenerates the Swift bindings from the release library with the workspace's pinned
# uniffi-bindgen (library mode) and fails if they differ from the committed ones in
# ios/Sources/OutreachCore/ (OutreachCore.swift, the bindings' API, and OutreachCoreModel.swift, the
# core's records and enums; one Swift module), so that the Swift the iOS app builds against never
# drifts from the Rust it links. `--write` updates the committed files instead.
set -euo pipefail
cd "$(dirname "$0")/.."

committed=ios/Sources/OutreachCore
sources=(OutreachCore.swift OutreachCoreModel.swift)
out=target/swift-bindings
rm -rf "$out"
# The whole workspace, as the tests build it: the same features, so nothing is rebuilt.
cargo build --release --locked --workspace
target/release/uniffi-bindgen generate \
    --library target/release/liboutreach_ffi.so --language swift --no-format --out-dir "$out"

if [ "${1:-}" = "--write" ]; then
    mkdir -p "$committed"
    for source in "${sources[@]}"; do
        cp "$out/$source" "$committed/$source"
        echo "wrote $committed/$source"
    done
    exit 0
fi
for source in "${sources[@]}"; do
    if ! diff -u "$committed/$source" "$out/$source" > "$out/drift.diff"; then
        head -n 60 "$out/drift.diff" >&2
        echo "the Swift bindings drifted from the Rust API: run scripts/check-swift-bindings.sh --write and commit $committed/$source" >&2
        exit 1
    fi
done
echo "Swift bindings match the Rust API ($(cat "${sources[@]/#/$committed/}" | wc -l) lines)"
