#!/usr/bin/env bash
# Tests scripts/api-check.py, the SDK's API dump and semver check, on the fixtures in
# scripts/api-check-fixtures/ and on the real bindings:
#
#   - the dump of the fixtures (UniFFI-shaped Kotlin and Swift) is exactly expected/*.api, does
#     not depend on indentation, is sorted and holds none of UniFFI's machinery;
#   - each variant (variants/*.sed: a method removed, one added, an enum case added, a parameter
#     type changed, `suspend`/`async` removed) against the baseline: a removal or change fails
#     without a major bump, or with one but no changelog section, and passes with both; an
#     addition passes (with a note where it can still break an app);
#   - Cargo's semver rules (0.2 -> 0.3 and 1.x -> 2.0 are major, 0.2.0 -> 0.2.1 is not), the
#     version header, `version --cargo` (with and without tomllib), exit 2 on bad arguments;
#   - the dump of the committed Swift bindings (ios/Sources/OutreachCore/*.swift) and, if
#     android/host-test.sh has generated them, of the Kotlin bindings with the Kotlin layer.
#
# Needs bash and python3 (3.8+) only; builds nothing. Usage: scripts/test-api-check.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tool=$root/scripts/api-check.py
fixtures=$root/scripts/api-check-fixtures
work=$(mktemp -d "${TMPDIR:-/tmp}/test-api-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

failures=0
checks=0
section() { printf '\n== %s\n' "$*"; }
pass() {
    checks=$((checks + 1))
    printf '  ok    %s\n' "$*"
}
fail() {
    checks=$((checks + 1))
    failures=$((failures + 1))
    printf '  FAIL  %s\n' "$*"
}
show_output() { sed 's/^/        | /' "$work/out"; }

api_check() { python3 "$tool" "$@"; }

# expect STATUS DESCRIPTION COMMAND...: runs COMMAND (output to $work/out), wants exit STATUS.
expect() {
    local want=$1 what=$2 got=0
    shift 2
    "$@" >"$work/out" 2>&1 || got=$?
    if [ "$got" = "$want" ]; then
        pass "$what (exit $got)"
    else
        fail "$what: exit $got, expected $want"
        show_output
    fi
}

# output_has TEXT DESCRIPTION: the last command's output holds TEXT (a fixed string).
output_has() {
    if grep -qF -- "$1" "$work/out"; then
        pass "$2"
    else
        fail "$2: the output has no '$1'"
        show_output
    fi
}

# file_has REGEX FILE DESCRIPTION / file_lacks REGEX FILE DESCRIPTION (extended regexes).
file_has() {
    if grep -qE -- "$1" "$2"; then pass "$3"; else fail "$3: no line of $2 matches '$1'"; fi
}
file_lacks() {
    local found
    if found=$(grep -E -- "$1" "$2" | head -3) && [ -n "$found" ]; then
        fail "$3: $2 has '$found'"
    else
        pass "$3"
    fi
}

# lines FILE: the declarations of a dump (its lines but the header).
lines() { grep -vc '^#' "$1" || true; }

# sorted FILE DESCRIPTION: the declarations are in byte order, without duplicates.
sorted() {
    if grep -v '^#' "$1" | LC_ALL=C sort -cu; then pass "$2"; else fail "$2"; fi
}

# UniFFI's machinery, which no dump may hold.
plumbing='FfiConverter|RustBuffer|ForeignBytes|RustCallStatus|Uniffi|uniffi|NoHandle|NoPointer|ffi_|Disposable|unsafeFromHandle'

# variant NAME: the fixtures with variants/NAME.<language>.sed applied (baseline: as they are),
# dumped into $work/NAME/api; the sources are in $work/NAME/kotlin and $work/NAME/swift.
variant() {
    local name=$1 dir=$work/$1 file
    mkdir -p "$dir/kotlin" "$dir/swift/OutreachCore"
    for file in "$fixtures"/kotlin/*.kt; do
        if [ "$name" = baseline ]; then
            cp "$file" "$dir/kotlin/"
        else
            sed -f "$fixtures/variants/$name.kotlin.sed" "$file" >"$dir/kotlin/${file##*/}"
        fi
    done
    for file in "$fixtures"/swift/OutreachCore/*.swift; do
        if [ "$name" = baseline ]; then
            cp "$file" "$dir/swift/OutreachCore/"
        else
            sed -f "$fixtures/variants/$name.swift.sed" "$file" >"$dir/swift/OutreachCore/${file##*/}"
        fi
    done
    if [ "$name" != baseline ]; then
        local language
        for language in kotlin swift; do
            if diff -r "$work/baseline/$language" "$dir/$language" >/dev/null; then
                fail "variant $name: its sed script changed nothing in the $language fixtures"
            fi
        done
    fi
    api_check dump --kotlin "$dir"/kotlin/*.kt --swift "$dir"/swift/OutreachCore/*.swift \
        --out "$dir/api" --version 0.2.0 >/dev/null
}

# ---- The fixtures' dump ---------------------------------------------------------------------------

section "dump of the fixtures"
variant baseline
for language in kotlin swift; do
    if diff -u "$fixtures/expected/$language.api" "$work/baseline/api/$language.api" >"$work/out"; then
        pass "$language.api is exactly expected/$language.api"
    else
        fail "$language.api differs from expected/$language.api (- expected, + now)"
        show_output
    fi
    sorted "$work/baseline/api/$language.api" "$language.api is sorted, one line per declaration"
    file_lacks "$plumbing" "$work/baseline/api/$language.api" "$language.api holds none of UniFFI's machinery"
done
file_has '^org\.outreach\.core\.OutreachStore \| suspend fun sync\(progress: SyncProgressListener\?, cancel: SyncCancellation\?\): SyncReport$' \
    "$work/baseline/api/kotlin.api" "Kotlin: a suspend method, with parameter names and types"
file_has '^org\.outreach\.core\.PartnerQuery \| constructor\(text: kotlin\.String\? = \.\.\., ' \
    "$work/baseline/api/kotlin.api" "Kotlin: a parameter with a default, not its value"
file_has '^org\.outreach\.core \| fun OutreachStore\.changes\(\): Flow<StoreChanges>$' \
    "$work/baseline/api/kotlin.api" "Kotlin: an extension function of the hand-written layer"
file_has '^org\.outreach\.core\.model \| typealias IsoDate = LocalDate$' \
    "$work/baseline/api/kotlin.api" "Kotlin: declarations qualified by their own package"
file_has '^OutreachCore\.OutreachError \| case InvalidInput\(field: String, reason: String\)$' \
    "$work/baseline/api/swift.api" "Swift: an enum case with its associated values, docstrings stripped"
file_has '^OutreachCore\.PartnerQuery \| inherits Sendable$' \
    "$work/baseline/api/swift.api" "Swift: a conformance declared in an extension under #if"
file_lacks 'debugText|helper|cache' "$work/baseline/api/swift.api" "Swift: internal members of a public extension left out"

# The same sources without their indentation: the same dump.
mkdir -p "$work/flat/kotlin" "$work/flat/swift/OutreachCore"
for file in "$work"/baseline/kotlin/*.kt; do sed 's/^[[:space:]]*//' "$file" >"$work/flat/kotlin/${file##*/}"; done
for file in "$work"/baseline/swift/OutreachCore/*.swift; do sed 's/^[[:space:]]*//' "$file" >"$work/flat/swift/OutreachCore/${file##*/}"; done
api_check dump --kotlin "$work"/flat/kotlin/*.kt --swift "$work"/flat/swift/OutreachCore/*.swift \
    --out "$work/flat/api" --version 0.2.0 >/dev/null
if diff -r "$work/baseline/api" "$work/flat/api" >"$work/out"; then
    pass "the dump does not depend on indentation"
else
    fail "the dump of the unindented sources differs"
    show_output
fi

# ---- check: each variant against the baseline -------------------------------------------------

cat >"$work/CHANGELOG-without-0.3.0.md" <<'EOF'
# Changelog

## 0.2.0 — 2026-12-02

- Everything async.
EOF
cat >"$work/CHANGELOG-empty-0.3.0.md" <<'EOF'
# Changelog

## [0.3.0] — 2027-01-10

### Removed

## 0.2.0 — 2026-12-02

- Everything async.
EOF
cat >"$work/CHANGELOG.md" <<'EOF'
# Changelog

## 0.3.0 (unreleased)

### Removed

- `OutreachStore.partnerCount()`: count the results of `searchPartners` instead.

## 0.2.0 — 2026-12-02

- Everything async.
EOF
cat >"$work/CHANGELOG-2.0.0.md" <<'EOF'
## [2.0.0] - 2027-06-01
- `partnerCount()` removed.
EOF
printf '## 0.3.0-rc.1\n\n- `partnerCount()` removed.\n' >"$work/CHANGELOG-rc.md"
printf '## 0.0.4\n\n- `partnerCount()` removed.\n' >"$work/CHANGELOG-0.0.4.md"

check() {
    # check VARIANT VERSION BASELINE_VERSION CHANGELOG
    api_check check --current "$work/$1/api" --baseline "$work/baseline/api" \
        --version "$2" --baseline-version "$3" --changelog "$4"
}

section "check: a method removed"
variant removed-method
expect 1 "removed, same version 0.2.0" check removed-method 0.2.0 0.2.0 "$work/CHANGELOG.md"
output_has "- org.outreach.core.OutreachStoreInterface | fun partnerCount(): kotlin.ULong" "Kotlin: the removed method is named"
output_has "- OutreachCore.OutreachStoreProtocol | func partnerCount() throws -> UInt64" "Swift: the removed method is named"
output_has "0.2.0 is not a major bump over 0.2.0" "says why: no major bump"
expect 1 "removed, patch bump 0.2.0 -> 0.2.1" check removed-method 0.2.1 0.2.0 "$work/CHANGELOG.md"
output_has "0.2.1 is not a major bump over 0.2.0" "says why: a patch bump is not major below 1.0"
expect 1 "removed, major bump 0.2.0 -> 0.3.0 but no '## 0.3.0' section" \
    check removed-method 0.3.0 0.2.0 "$work/CHANGELOG-without-0.3.0.md"
output_has "has no '## 0.3.0' section" "says why: no changelog section"
expect 1 "removed, major bump but an empty '## [0.3.0]' section" \
    check removed-method 0.3.0 0.2.0 "$work/CHANGELOG-empty-0.3.0.md"
output_has "section is empty" "says why: the changelog section is empty"
expect 0 "removed, major bump 0.2.0 -> 0.3.0 and a changelog section" \
    check removed-method 0.3.0 0.2.0 "$work/CHANGELOG.md"
output_has "incompatible changes (accepted)" "lists the accepted incompatible changes"
expect 0 "removed, 0.2.0 -> 0.3.0-rc.1, a pre-release of the next major, with its section" \
    check removed-method 0.3.0-rc.1 0.2.0 "$work/CHANGELOG-rc.md"
expect 1 "removed, 0.2.0 -> 0.3.0-rc.1 with only a '## 0.3.0' section" \
    check removed-method 0.3.0-rc.1 0.2.0 "$work/CHANGELOG.md"
expect 0 "removed, 1.4.2 -> 2.0.0 with a '## [2.0.0]' section" check removed-method 2.0.0 1.4.2 "$work/CHANGELOG-2.0.0.md"
expect 1 "removed, 1.4.2 -> 1.5.0: a minor bump from 1.0 on is not major" check removed-method 1.5.0 1.4.2 "$work/CHANGELOG-2.0.0.md"
expect 0 "removed, 0.0.3 -> 0.0.4: below 0.1 every version is major (with a section)" \
    check removed-method 0.0.4 0.0.3 "$work/CHANGELOG-0.0.4.md"
# The baseline version from the dump's '# version:' header (written by dump --version).
expect 1 "removed, 0.2.1 against the header's version 0.2.0 (no --baseline-version)" \
    api_check check --current "$work/removed-method/api" --baseline "$work/baseline/api" \
    --version 0.2.1 --changelog "$work/CHANGELOG.md"
output_has "0.2.1 is not a major bump over 0.2.0" "the baseline version comes from the dump's header"

section "check: a method added"
variant added-method
expect 0 "added, same version" check added-method 0.2.0 0.2.0 "$work/CHANGELOG-without-0.3.0.md"
output_has "+ org.outreach.core.OutreachStore | fun partnerCountIn(region: Region): kotlin.ULong" "Kotlin: the addition is listed"
output_has "+ OutreachCore.OutreachStoreProtocol | func partnerCountIn(region: Region) throws -> UInt64" "Swift: the addition is listed"
output_has "an app implementing it must add it" "notes that an interface/protocol gained a member"

section "check: an enum case added"
variant added-case
expect 0 "enum case added, same version" check added-case 0.2.0 0.2.0 "$work/CHANGELOG-without-0.3.0.md"
output_has "+ org.outreach.core.LogLevel | entry INFO" "Kotlin: the new entry is listed"
output_has "+ OutreachCore.LogLevel | case info" "Swift: the new case is listed"
output_has "an exhaustive \`when\`/\`switch\` over the enum no longer compiles" "notes what it breaks"

section "check: a parameter type changed"
variant param-type-changed
expect 1 "parameter type changed, patch bump" check param-type-changed 0.2.1 0.2.0 "$work/CHANGELOG.md"
output_has "- org.outreach.core.OutreachStore | fun visits(month: IsoDate, limit: kotlin.UInt): List<Visit>" "Kotlin: the old signature"
output_has "now: org.outreach.core.OutreachStore | fun visits(month: IsoDate, limit: kotlin.Int): List<Visit>" "Kotlin: and the new one"
output_has "now: OutreachCore.OutreachStoreProtocol | func visits(month: IsoDate, limit: Int32) throws -> [Visit]" "Swift: the new signature"
expect 0 "parameter type changed, major bump and changelog" check param-type-changed 0.3.0 0.2.0 "$work/CHANGELOG.md"

section "check: suspend / async removed"
variant suspend-removed
expect 1 "suspend removed, patch bump" check suspend-removed 0.2.1 0.2.0 "$work/CHANGELOG.md"
output_has "- org.outreach.core.OutreachStoreInterface | suspend fun sync(" "Kotlin: the suspend method is reported"
output_has "now: org.outreach.core.OutreachStoreInterface | fun sync(" "Kotlin: now without suspend"
output_has "- OutreachCore.OutreachStore | open func sync(progress: SyncProgressListener?, cancel: SyncCancellation?) async throws" "Swift: the async method is reported"

section "check: no change"
expect 0 "the baseline against itself" check baseline 0.2.0 0.2.0 "$work/CHANGELOG-without-0.3.0.md"
output_has "no incompatible change" "one-line summary"

# ---- Bad arguments: exit 2 ----------------------------------------------------------------------

section "bad arguments and unreadable files (exit 2)"
expect 2 "a version that is not semver" check removed-method 0.3 0.2.0 "$work/CHANGELOG.md"
expect 2 "a changelog that does not exist" check removed-method 0.3.0 0.2.0 "$work/no-such-changelog.md"
output_has "cannot read changelog" "says which file"
mkdir -p "$work/empty"
expect 2 "a current directory without dumps" \
    api_check check --current "$work/empty" --baseline "$work/baseline/api" --version 0.3.0 --changelog "$work/CHANGELOG.md"
grep -v '^# version:' "$work/baseline/api/kotlin.api" >"$work/empty/kotlin.api"
expect 2 "no --baseline-version and no version header" \
    api_check check --current "$work/baseline/api" --baseline "$work/empty" --version 0.3.0 --changelog "$work/CHANGELOG.md"
expect 2 "check without --current" api_check check --baseline "$work/baseline/api" --version 0.3.0 --changelog "$work/CHANGELOG.md"
expect 2 "dump of a file that does not exist" api_check dump --kotlin "$work/no-such.kt" --out "$work/x"
printf 'private fun helper() {}\n' >"$work/nothing-public.kt"
expect 2 "dump of a Kotlin file without public declarations" api_check dump --kotlin "$work/nothing-public.kt" --out "$work/x"
expect 2 "dump without --kotlin or --swift" api_check dump --out "$work/x"

# ---- version ------------------------------------------------------------------------------------

section "version --cargo"
expect 0 "the workspace's Cargo.toml" api_check version --cargo "$root/Cargo.toml"
workspace_version=$(cat "$work/out")
if [[ "$workspace_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] &&
    grep -qE "^version = \"$workspace_version\"" "$root/Cargo.toml"; then
    pass "prints the [workspace.package] version ($workspace_version)"
else
    fail "printed '$workspace_version'"
fi
cat >"$work/Cargo.toml" <<'EOF'
[workspace]
members = ["a"]

[workspace.dependencies]
serde = { version = "1" }

[workspace.package]
edition = "2021"
version = "1.2.3"  # the SDK's version
EOF
expect 0 "a manifest with other version keys" api_check version --cargo "$work/Cargo.toml"
output_has "1.2.3" "finds the version of [workspace.package], not of a dependency"
expect 0 "the same without tomllib (Python before 3.11)" python3 -c '
import runpy, sys
sys.modules["tomllib"] = None  # makes `import tomllib` fail, as on Python 3.10
tool, manifest = sys.argv[1:3]
sys.argv = [tool, "version", "--cargo", manifest]
runpy.run_path(tool, run_name="__main__")
' "$tool" "$work/Cargo.toml"
output_has "1.2.3" "the fallback reader finds it too"
printf '[workspace]\nmembers = []\n' >"$work/Cargo-noversion.toml"
expect 2 "a manifest without a version" api_check version --cargo "$work/Cargo-noversion.toml"

# ---- The committed baseline ---------------------------------------------------------------------

section "the committed baseline (sdk-api/, the last release's dumps)"
for language in kotlin swift; do
    baseline_api=$root/sdk-api/$language.api
    if [ -f "$baseline_api" ]; then
        file_has '^# version: [0-9]+\.[0-9]+\.[0-9]+' "$baseline_api" "sdk-api/$language.api names its version"
        sorted "$baseline_api" "sdk-api/$language.api is sorted"
        file_lacks "$plumbing" "$baseline_api" "sdk-api/$language.api holds none of UniFFI's machinery"
    else
        fail "no sdk-api/$language.api"
    fi
done

# ---- The real bindings --------------------------------------------------------------------------

section "dump of the committed Swift bindings"
mkdir -p "$work/real/swift/OutreachCore"
cp "$root"/ios/Sources/OutreachCore/*.swift "$work/real/swift/OutreachCore/"
expect 0 "dump ios/Sources/OutreachCore/*.swift" \
    api_check dump --swift "$work"/real/swift/OutreachCore/*.swift --out "$work/real/api"
swift_api=$work/real/api/swift.api
count=$(lines "$swift_api")
if [ "$count" -ge 300 ] && [ "$count" -le 5000 ]; then
    pass "a plausible number of declarations ($count)"
else
    fail "$count declarations: not plausible"
fi
file_has '^OutreachCore \| open class OutreachStore$' "$swift_api" "has the OutreachStore class"
file_has '^OutreachCore\.OutreachStore \| open func searchPartners\(query: PartnerQuery\)' "$swift_api" "has OutreachStore.searchPartners"
file_lacks "$plumbing" "$swift_api" "holds none of UniFFI's machinery"
sorted "$swift_api" "is sorted"

section "dump of the generated Kotlin bindings"
generated=${CARGO_TARGET_DIR:-target}
case "$generated" in /*) ;; *) generated=$root/$generated ;; esac
generated=$generated/host-test/generated/org/outreach/core
mkdir -p "$work/real/kotlin"
# Copied first: android/host-test.sh may regenerate them meanwhile.
if cp "$generated/outreach_ffi.kt" "$generated/model/outreach_core.kt" "$work/real/kotlin/" 2>/dev/null; then
    cp "$root"/android/src/main/kotlin/org/outreach/core/*.kt "$work/real/kotlin/" 2>/dev/null || true
    expect 0 "dump the generated Kotlin and android/src/main/kotlin" \
        api_check dump --kotlin "$work"/real/kotlin/*.kt --out "$work/real/api"
    kotlin_api=$work/real/api/kotlin.api
    count=$(lines "$kotlin_api")
    if [ "$count" -ge 300 ] && [ "$count" -le 5000 ]; then
        pass "a plausible number of declarations ($count)"
    else
        fail "$count declarations: not plausible"
    fi
    file_has '^org\.outreach\.core \| open class OutreachStore$' "$kotlin_api" "has the OutreachStore class"
    file_has '^org\.outreach\.core\.OutreachStore \| (suspend )?fun searchPartners\(query: PartnerQuery' "$kotlin_api" "has OutreachStore.searchPartners"
    file_has '^org\.outreach\.core\.model \| ' "$kotlin_api" "has the core's records and enums (org.outreach.core.model)"
    file_lacks "$plumbing" "$kotlin_api" "holds none of UniFFI's machinery"
    sorted "$kotlin_api" "is sorted"
    expect 0 "the real dump against itself" \
        api_check check --current "$work/real/api" --baseline "$work/real/api" \
        --version "$workspace_version" --baseline-version "$workspace_version" --changelog "$work/CHANGELOG.md"
else
    printf '  skip  no generated Kotlin in %s (android/host-test.sh writes it)\n' "${generated#"$root/"}"
fi

printf '\n%d checks, %d failed\n' "$checks" "$failures"
[ "$failures" -eq 0 ]
