#!/usr/bin/env bash
# Regenerates the Swift bindings from the release library with the workspace's pinned
# uniffi-bindgen (library mode) and fails if they differ from the committed
# ios/Sources/OutreachCore/OutreachCore.swift, so that the Swift the iOS app builds against never
# drifts from the Rust it links. `--write` updates the committed file instead.
set -euo pipefail
cd "$(dirname "$0")/.."

committed=ios/Sources/OutreachCore/OutreachCore.swift
out=target/swift-bindings
rm -rf "$out"
# The whole workspace, as the tests build it: the same features, so nothing is rebuilt.
cargo build --release --locked --workspace
target/release/uniffi-bindgen generate \
    --library target/release/liboutreach_ffi.so --language swift --no-format --out-dir "$out"

if [ "${1:-}" = "--write" ]; then
    mkdir -p "$(dirname "$committed")"
    cp "$out/OutreachCore.swift" "$committed"
    echo "wrote $committed"
    exit 0
fi
if ! diff -u "$committed" "$out/OutreachCore.swift" > "$out/drift.diff"; then
    head -n 60 "$out/drift.diff" >&2
    echo "the Swift bindings drifted from the Rust API: run scripts/check-swift-bindings.sh --write and commit $committed" >&2
    exit 1
fi
echo "Swift bindings match the Rust API ($(wc -l < "$committed") lines)"
