#!/usr/bin/env bash
# Builds ios/OutreachFFI.xcframework, the Rust core (crate `outreach-ffi`) as static libraries for
# iOS devices, the iOS simulator and macOS together with the C header and modulemap of its FFI, and
# regenerates ios/Sources/OutreachCore/*.swift: the two halves of the Swift package in
# ios/ (Package.swift).
#
# Needs macOS with Xcode (xcodebuild, lipo and the iOS SDKs; the Command Line Tools alone are not
# enough), and exits with a message anywhere else. The project's CI, a Linux machine without Xcode,
# never runs it: there, scripts/check-swift-bindings.sh regenerates the Swift bindings from the
# desktop library and fails if they differ from the committed Swift sources.
#
# It also packs the xcframework for a remote Swift package, as
# ios/build/OutreachCore-<version>.xcframework.zip (<version>: the SDK's, `[workspace.package]
# version` of Cargo.toml; CHANGELOG.md), and prints the archive's SwiftPM checksum with the
# `.binaryTarget(name:url:checksum:)` line that uses it.
#
# Usage: ios/build-xcframework.sh [--ios-only] [--release-url URL]
#   --ios-only         leave out the macOS slice: two Rust targets fewer to build, but the package
#                      then builds for iOS only
#   --release-url URL  where the archive will be served from (the URL of its directory), for the
#                      printed `.binaryTarget` line; without it the line has a placeholder
#
# Once, beforehand:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios \
#       aarch64-apple-darwin x86_64-apple-darwin
#
# Intermediate files go to ios/build/; it and the xcframework are git-ignored.
set -euo pipefail

die() {
    printf 'build-xcframework: %s\n' "$*" >&2
    exit 1
}
step() { printf '\n== %s\n' "$*"; }

with_macos=1
release_url=
while [ "$#" -gt 0 ]; do
    case "$1" in
        --ios-only) with_macos=0 ;;
        --release-url)
            [ "$#" -ge 2 ] || die "--release-url needs the URL of the directory the archive is served from"
            release_url=$2
            shift
            ;;
        --release-url=*) release_url=${1#--release-url=} ;;
        -h | --help)
            sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

# ---- Where this can run ---------------------------------------------------------------------------

if [ "$(uname -s)" != Darwin ]; then
    die "this needs macOS with Xcode, and this machine runs $(uname -s). On Linux the Swift bindings are checked, not built: scripts/check-swift-bindings.sh"
fi
if ! xcodebuild -version >/dev/null 2>&1; then
    die "xcodebuild does not work: install Xcode and select it (sudo xcode-select -s /Applications/Xcode.app)"
fi
if ! xcrun --sdk iphoneos --show-sdk-path >/dev/null 2>&1; then
    die "the selected Xcode has no iOS SDK (Xcode > Settings > Components)"
fi
command -v cargo >/dev/null || die "cargo is not on PATH (rustup puts it in ~/.cargo/bin)"
command -v python3 >/dev/null || die "python3 is not on PATH (Xcode's Command Line Tools have one); it reads the version from Cargo.toml"

ios_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$ios_dir")
cd "$root"

device_target=aarch64-apple-ios
simulator_targets=(aarch64-apple-ios-sim x86_64-apple-ios)
macos_targets=(aarch64-apple-darwin x86_64-apple-darwin)
targets=("$device_target" "${simulator_targets[@]}")
if [ "$with_macos" = 1 ]; then
    targets+=("${macos_targets[@]}")
fi

if command -v rustup >/dev/null; then
    installed=$(rustup target list --installed)
    missing=()
    for target in "${targets[@]}"; do
        grep -qx "$target" <<<"$installed" || missing+=("$target")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        die "Rust targets missing; install them with: rustup target add ${missing[*]}"
    fi
fi

# ---- Settings -------------------------------------------------------------------------------------

# The name of the C module of the FFI: [bindings.swift] ffi_module_name in bindings/uniffi.toml
# and core/uniffi.toml, the binaryTarget of Package.swift, and what the generated Swift imports.
ffi_module=outreach_ffiFFI
# Its headers, one per crate: [bindings.swift] ffi_module_filename, plus ".h".
ffi_headers=(outreach_ffiFFI.h outreach_coreFFI.h)
# The generated Swift files, one module: [bindings.swift] module_name of bindings/uniffi.toml (the
# API) and of core/uniffi.toml (the core's records and enums), plus ".swift".
swift_sources=(OutreachCore.swift OutreachCoreModel.swift)
lib=liboutreach_ffi.a
# The SDK's version, one for the Rust crates, this package and the Android library.
version=$(python3 "$root/scripts/api-check.py" version --cargo "$root/Cargo.toml") ||
    die "cannot read [workspace.package] version from Cargo.toml"
# The archive of a release, for a remote package's binary target.
archive_name=OutreachCore-$version.xcframework.zip

target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in
    /*) ;;
    *) target_dir="$root/$target_dir" ;;
esac
build_dir="$ios_dir/build"
xcframework="$ios_dir/OutreachFFI.xcframework"

# The deployment targets of Package.swift, for rustc and for the C code that the build scripts
# compile (SQLCipher, OpenSSL, ring).
export IPHONEOS_DEPLOYMENT_TARGET=15.0
export MACOSX_DEPLOYMENT_TARGET=12.0
# Run from an Xcode build phase, SDKROOT names that one phase's SDK, and the C compilers of the
# build scripts would use it for every target.
unset SDKROOT

rm -rf "$build_dir"
mkdir -p "$build_dir"

# ---- The Rust core, one static library per target -----------------------------------------------

for target in "${targets[@]}"; do
    step "outreach-ffi for $target (release, staticlib)"
    # Only the staticlib: the crate's cdylib and rlib are of no use here.
    cargo rustc --release --locked -p outreach-ffi --lib --no-default-features --crate-type staticlib --target "$target"
done

# One library per platform: the two simulator architectures (and the two macOS ones) merged.
step "fat libraries (lipo)"
mkdir -p "$build_dir/ios-simulator"
lipo -create \
    "$target_dir/${simulator_targets[0]}/release/$lib" \
    "$target_dir/${simulator_targets[1]}/release/$lib" \
    -output "$build_dir/ios-simulator/$lib"
if [ "$with_macos" = 1 ]; then
    mkdir -p "$build_dir/macos"
    lipo -create \
        "$target_dir/${macos_targets[0]}/release/$lib" \
        "$target_dir/${macos_targets[1]}/release/$lib" \
        -output "$build_dir/macos/$lib"
fi

# ---- The Swift bindings and the FFI header ------------------------------------------------------

# Library mode: uniffi-bindgen (built for this Mac) reads the UniFFI metadata from the device
# library. Not formatted, so that it is byte for byte what CI generates on Linux.
step "Swift bindings (uniffi-bindgen, library mode)"
generated="$build_dir/swift"
mkdir -p "$generated"
cargo run --release --locked -p outreach-ffi --bin uniffi-bindgen -- generate \
    --library "$target_dir/$device_target/release/$lib" \
    --language swift \
    --out-dir "$generated" \
    --no-format
for file in "${swift_sources[@]}" "${ffi_headers[@]}"; do
    if [ ! -f "$generated/$file" ]; then
        written=$(find "$generated" -type f -exec basename {} \; | tr '\n' ' ')
        die "uniffi-bindgen wrote no $file (it wrote: ${written:-nothing}); were the [bindings.swift] settings of bindings/uniffi.toml applied?"
    fi
done

# The headers and modulemap go in a directory named after the module, not at the top of Headers/:
# Xcode copies the headers of every xcframework of an app into one include/ directory, where two
# top-level module.modulemap files would collide; clang finds <module>/module.modulemap by itself.
# uniffi-bindgen writes one modulemap per crate, each naming its own header: the module gets one
# naming both.
headers="$build_dir/headers"
mkdir -p "$headers/$ffi_module"
{
    echo "module $ffi_module {"
    for header in "${ffi_headers[@]}"; do
        cp "$generated/$header" "$headers/$ffi_module/"
        echo "    header \"$header\""
    done
    sed -n '/export \*/,$p' "$generated/$ffi_module.modulemap"
} >"$headers/$ffi_module/module.modulemap"

# ---- The xcframework ----------------------------------------------------------------------------

step "OutreachFFI.xcframework"
slices=(
    -library "$target_dir/$device_target/release/$lib" -headers "$headers"
    -library "$build_dir/ios-simulator/$lib" -headers "$headers"
)
if [ "$with_macos" = 1 ]; then
    slices+=(-library "$build_dir/macos/$lib" -headers "$headers")
fi
rm -rf "$xcframework"
xcodebuild -create-xcframework "${slices[@]}" -output "$xcframework"

# ---- The committed Swift source -----------------------------------------------------------------

for swift_source in "${swift_sources[@]}"; do
    step "Sources/OutreachCore/$swift_source"
    committed="$ios_dir/Sources/OutreachCore/$swift_source"
    if [ -f "$committed" ] && cmp -s "$generated/$swift_source" "$committed"; then
        echo "unchanged: the committed bindings match this build"
    else
        mkdir -p "$(dirname "$committed")"
        cp "$generated/$swift_source" "$committed"
        echo "UPDATED: the committed bindings did not match the Rust API; review and commit ${committed#"$root/"}" >&2
    fi
done

# ---- The archive of a release ------------------------------------------------------------------

# A remote binary target is a zip with the xcframework at its root, named after the target (SwiftPM
# looks the artifact up by name): outreach_ffiFFI.xcframework, the binaryTarget of Package.swift.
# The local package keeps its OutreachFFI.xcframework, found by path.
step "$archive_name"
staging="$build_dir/archive"
archive="$build_dir/$archive_name"
rm -rf "$staging" "$archive"
mkdir -p "$staging"
cp -R "$xcframework" "$staging/$ffi_module.xcframework"
(cd "$staging" && ditto -c -k --sequesterRsrc --keepParent "$ffi_module.xcframework" "$archive")

# SwiftPM's checksum is the archive's SHA-256; `swift package` says so itself when it can.
checksum=$(cd "$ios_dir" && swift package compute-checksum "$archive" 2>/dev/null) || checksum=
if ! [[ "$checksum" =~ ^[0-9a-f]{64}$ ]]; then
    checksum=$(shasum -a 256 "$archive" | awk '{ print $1 }')
fi
if [ -n "$release_url" ]; then
    archive_url=${release_url%/}/$archive_name
else
    archive_url="https://RELEASE-HOST/PATH/$archive_name"
fi

platforms="iOS devices, iOS simulator (arm64, x86_64)"
if [ "$with_macos" = 1 ]; then
    platforms="$platforms, macOS (arm64, x86_64)"
fi
printf '\nbuilt %s for %s\n' "${xcframework#"$root/"}" "$platforms"
printf 'add the package to an app: Xcode > File > Add Package Dependencies… > Add Local… > %s\n' "${ios_dir#"$root/"}"
printf '\nrelease archive (version %s): %s\n' "$version" "${archive#"$root/"}"
printf 'SwiftPM checksum: %s\n' "$checksum"
if [ -z "$release_url" ]; then
    printf 'for a remote package (pass --release-url to fill in the URL):\n'
else
    printf 'for a remote package, once the archive is served at %s:\n' "$archive_url"
fi
printf '    .binaryTarget(name: "%s", url: "%s", checksum: "%s"),\n' "$ffi_module" "$archive_url" "$checksum"
