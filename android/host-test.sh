#!/usr/bin/env bash
# The Kotlin host tests: the UniFFI-generated Kotlin bindings, compiled with kotlinc and run on
# the JVM (through JNA) against the real desktop library target/release/liboutreach_ffi.so and a
# real `outreach-hub serve` on 127.0.0.1. What CI runs instead of the Android build (README.md).
#
#   bash android/host-test.sh            build, generate, compile, start a hub, run the tests
#   bash android/host-test.sh WORD       the same, running only the tests whose name holds WORD
#   bash android/host-test.sh --bench    the local benchmark through the bindings, next to Rust's
#                                        (OUTREACH_BENCH_WARMUP=N: N warm-up calls, default 10000;
#                                        OUTREACH_BENCH_DEBUG=1: the 30 slowest timed logs)
#
# Installs what it needs when missing, once, caching under ~/.cache/outreach (or
# $OUTREACH_CACHE_DIR): kotlinc from the npm package `kotlin-compiler` (which also ships the
# kotlinx-coroutines and kotlin-test jars), and JNA from Debian's `libjna-java`. Needs Java 17+,
# npm, cargo. The test sources are android/src/hostTest/kotlin/org/outreach/core/*.kt; the build
# products go to target/host-test/. Exits non-zero if any test failed (or, with --bench, if a
# binding's p99 is more than 1.5 times the Rust figure).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=test
filter=()
case "${1:-}" in
    "") ;;
    --bench) mode=bench ;;
    -h | --help)
        sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "usage: $0 [--bench | WORD]" >&2
        exit 2
        ;;
    *) filter=("$1") ;;
esac

kotlin_version=2.4.20
cache=${OUTREACH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/outreach}
kotlin_home=$cache/kotlinc-$kotlin_version/package
kotlinc=$kotlin_home/bin/kotlinc
coroutines_jar=$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar
kotlin_test_jar=$kotlin_home/lib/kotlin-test.jar
jna_jar=/usr/share/java/jna.jar

target=${CARGO_TARGET_DIR:-target}
case "$target" in /*) ;; *) target=$root/$target ;; esac
build=$target/host-test
sources=$root/android/src/hostTest/kotlin/org/outreach/core

say() { printf '== %s\n' "$*"; }

# ---- Tools ---------------------------------------------------------------------------------------

need_java() {
    if ! command -v java >/dev/null; then
        echo "host-test: java (17 or newer) is needed on PATH" >&2
        exit 1
    fi
    local version
    version=$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ { print $2 }')
    if [ "${version%%.*}" -lt 17 ] 2>/dev/null; then
        echo "host-test: java $version found, 17 or newer needed" >&2
        exit 1
    fi
}

kotlinc_complete() {
    [ -x "$kotlinc" ] && [ -f "$kotlin_home/lib/kotlin-compiler.jar" ] \
        && [ -f "$coroutines_jar" ] && [ -f "$kotlin_test_jar" ] \
        && [ -f "$kotlin_home/lib/kotlin-stdlib.jar" ]
}

install_kotlinc() {
    kotlinc_complete && return 0
    say "installing kotlinc $kotlin_version (npm package kotlin-compiler) into $cache"
    command -v npm >/dev/null || {
        echo "host-test: npm is needed to install kotlinc" >&2
        exit 1
    }
    mkdir -p "$cache"
    local tarball=$cache/kotlin-compiler-$kotlin_version.tgz
    if [ ! -s "$tarball" ] || ! tar -tzf "$tarball" >/dev/null 2>&1; then
        rm -f "$tarball"
        # npm checks the package's integrity against the registry's record.
        (cd "$cache" && npm pack --silent "kotlin-compiler@$kotlin_version" >/dev/null)
    fi
    local unpack
    unpack=$(mktemp -d "$cache/unpack.XXXXXX")
    tar -xzf "$tarball" -C "$unpack"
    rm -rf "$cache/kotlinc-$kotlin_version"
    mv "$unpack" "$cache/kotlinc-$kotlin_version"
    chmod +x "$kotlin_home"/bin/*
    if ! kotlinc_complete; then
        echo "host-test: the kotlin-compiler package lacks bin/kotlinc or the jars in lib/ (kotlin-compiler," \
            "kotlin-stdlib, kotlinx-coroutines-core-jvm, kotlin-test)" >&2
        exit 1
    fi
}

install_jna() {
    [ -f "$jna_jar" ] && return 0
    say "installing JNA (Debian package libjna-java)"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null; then
            sudo=(sudo)
        else
            echo "host-test: $jna_jar is missing; install libjna-java (as root)" >&2
            exit 1
        fi
    fi
    local log
    log=$(mktemp)
    apt() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >>"$log" 2>&1; }
    # A stale or empty package list makes the first attempt fail: refresh it once and retry.
    if ! apt install -y -q libjna-java; then
        apt update -q || true
        apt install -y -q libjna-java || true
    fi
    if [ ! -f "$jna_jar" ]; then
        cat "$log" >&2
        echo "host-test: could not install libjna-java ($jna_jar is missing)" >&2
        exit 1
    fi
    rm -f "$log"
}

# ---- The README's example -------------------------------------------------------------------------

# README.md's Kotlin example is the body of ReadmeExample.kt, which the tests compile and run:
# fail when the two differ, so that the README never shows code that was not run.
check_readme_example() {
    python3 - "$root/README.md" "$sources/ReadmeExample.kt" <<'PY'
import sys, textwrap
readme, example = (open(p, encoding="utf-8").read() for p in sys.argv[1:])
start = readme.index("```kotlin\nimport org.outreach.core.*")
block = readme[start:readme.index("\n```", start + 3)].split("\n")[1:]
shown = "\n".join(l for l in block if not l.startswith("import ")).strip()
body = example[example.index("): ReadmeRun {") + len("): ReadmeRun {"):example.index("    return ReadmeRun(")]
ran = textwrap.dedent(body).strip()
if shown != ran:
    import difflib
    sys.stderr.write("\n".join(difflib.unified_diff(ran.split("\n"), shown.split("\n"), "ReadmeExample.kt", "README.md", lineterm="")) + "\n")
    sys.exit("host-test: README.md's Kotlin example differs from the body of ReadmeExample.kt")
PY
}

# ---- Build ---------------------------------------------------------------------------------------

# Generates the bindings from the release library and compiles them with the host tests and the
# bench into one jar, unless the jar was built from exactly these sources already.
compile_jar() {
    local generated=$build/generated
    rm -rf "$generated"
    mkdir -p "$generated"
    "$target/release/uniffi-bindgen" generate --library "$target/release/liboutreach_ffi.so" \
        --language kotlin --no-format --out-dir "$generated" >/dev/null
    # Two files: the bindings' API (org.outreach.core) and the core's records and enums
    # (org.outreach.core.model, from core/uniffi.toml).
    local bindings=("$generated/org/outreach/core/outreach_ffi.kt" "$generated/org/outreach/core/model/outreach_core.kt")
    local file
    for file in "${bindings[@]}"; do
        [ -f "$file" ] || {
            echo "host-test: uniffi-bindgen wrote no $file" >&2
            exit 1
        }
    done
    # The tests, and the Kotlin layer the AAR ships beside the generated bindings.
    local test_sources=("$sources"/*.kt android/src/main/kotlin/org/outreach/core/*.kt)
    local stamp
    local kotlinc_flags=(-jvm-target 17 -include-runtime)
    stamp=$( (echo "kotlinc $kotlin_version ${kotlinc_flags[*]}"; sha256sum "${bindings[@]}" "${test_sources[@]}" | awk '{ print $1 }') | sha256sum | awk '{ print $1 }')
    jar=$build/host-tests.jar
    if [ -f "$jar" ] && [ "$(cat "$build/host-tests.stamp" 2>/dev/null)" = "$stamp" ]; then
        say "host-tests.jar is up to date"
        return 0
    fi
    say "compiling the bindings and ${#test_sources[@]} test sources with kotlinc $kotlin_version"
    rm -f "$jar" "$build/host-tests.stamp"
    local started=$SECONDS
    "$kotlinc" "${kotlinc_flags[@]}" \
        -cp "$jna_jar:$coroutines_jar:$kotlin_test_jar" \
        -d "$jar" "${bindings[@]}" "${test_sources[@]}"
    echo "$stamp" >"$build/host-tests.stamp"
    say "compiled in $((SECONDS - started)) s"
}

java_flags() {
    # JNA finds liboutreach_ffi.so in jna.library.path. Debian's jna.jar bundles no native part:
    # it loads the system's libjnidispatch, which jna.nosys=false keeps allowed.
    printf '%s\n' "-Djna.library.path=$target/release" -Djna.nosys=false \
        -cp "$jar:$jna_jar:$coroutines_jar:$kotlin_test_jar"
}

check_readme_example
need_java
install_kotlinc
install_jna
mkdir -p "$build"

# ---- Bench ---------------------------------------------------------------------------------------

if [ "$mode" = bench ]; then
    say "building the library, the bindgen and the bench (release)"
    # The whole workspace, as scripts/test-all.sh builds it: the same features, so nothing rebuilds.
    cargo build --release --locked --workspace
    compile_jar
    bench_dir=$build/bench
    rm -rf "$bench_dir"
    mkdir -p "$bench_dir"
    say "the Rust local benchmark (exports its store and queries to $bench_dir)"
    "$target/release/bench" local --export "$bench_dir" | tee "$bench_dir/rust.txt"
    say "the same workload through the Kotlin bindings"
    mapfile -t flags < <(java_flags)
    # Benchmark hygiene, as JMH does it: a heap sized up front with a young generation that holds
    # the whole timed run, and a collector without concurrent threads, so that the figures are the
    # bindings' cost and not a garbage collection or a GC thread taking one of the two cores.
    flags+=(-XX:+UseSerialGC -Xms1g -Xmx1g -Xmn768m -XX:+AlwaysPreTouch)
    if [ -n "${OUTREACH_BENCH_WARMUP:-}" ]; then
        flags+=("-Doutreach.bench.warmup=$OUTREACH_BENCH_WARMUP")
    fi
    java "${flags[@]}" org.outreach.core.BenchKt "$bench_dir" | tee "$bench_dir/kotlin.txt"
    figure() { awk -v name="$1" '$1 == name { print $2 }' "$2" | tail -n 1; }
    status=0
    echo
    printf '%-18s %12s   %-22s %12s   %7s\n' "rust" "us" "kotlin (bindings)" "us" "ratio"
    for name in log_visit_p99_us search_p99_us; do
        rust=$(figure "$name" "$bench_dir/rust.txt")
        kotlin=$(figure "ffi_$name" "$bench_dir/kotlin.txt")
        if [ -z "$rust" ] || [ -z "$kotlin" ]; then
            echo "host-test: $name or ffi_$name is missing from the benchmark output" >&2
            exit 1
        fi
        verdict=$(awk -v r="$rust" -v k="$kotlin" 'BEGIN {
            ratio = k / r
            printf "%.2f %s", ratio, (ratio <= 1.5 ? "ok (<= 1.5)" : "TOO SLOW (> 1.5)")
        }')
        printf '%-18s %12s   %-22s %12s   %s\n' "$name" "$rust" "ffi_$name" "$kotlin" "$verdict"
        case "$verdict" in *"TOO SLOW"*) status=1 ;; esac
    done
    if [ "$status" -eq 0 ]; then
        echo "bench: every ratio is at most 1.5"
    else
        echo "bench: a ratio is above 1.5"
    fi
    exit "$status"
fi

# ---- Tests ---------------------------------------------------------------------------------------

say "building the library, the bindgen and the hub (release)"
# The whole workspace, as scripts/test-all.sh builds it: the same features, so nothing rebuilds.
cargo build --release --locked --workspace
compile_jar

hub_bin=$target/release/outreach-hub
work=$(mktemp -d "${TMPDIR:-/tmp}/outreach-host-test.XXXXXX")
hub_pid=
cleanup() {
    if [ -n "$hub_pid" ]; then
        kill "$hub_pid" 2>/dev/null || true
        wait "$hub_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

hub_data=$work/hub
mkdir -p "$work/tmp"
"$hub_bin" init --data "$hub_data" --org Fedasil >"$work/init.txt"
# The hub's request log is kept after the run, for a failure's post-mortem.
hub_log=$build/hub.log
"$hub_bin" serve --data "$hub_data" --listen 127.0.0.1:0 >"$work/hub.out" 2>"$hub_log" &
hub_pid=$!
hub_url=
for _ in $(seq 1 200); do
    line=$(head -n 1 "$work/hub.out" 2>/dev/null || true)
    case "$line" in
        "listening on "*)
            hub_url=http://${line#listening on }
            break
            ;;
    esac
    kill -0 "$hub_pid" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$hub_url" ]; then
    echo "host-test: the hub did not start" >&2
    cat "$work/hub.out" "$hub_log" >&2
    exit 1
fi
say "hub at $hub_url (pid $hub_pid), its log in $hub_log"
# The bench's directory (2,000 partners), which the main-safety tests search from one thread.
"$target/release/bench" directory "$work/directory"

mapfile -t flags < <(java_flags)
# The last line printed is the harness's `N passed, M failed`; the exit status is the JVM's.
java "${flags[@]}" \
    "-Doutreach.hub.url=$hub_url" \
    "-Doutreach.hub.data=$hub_data" \
    "-Doutreach.hub.bin=$hub_bin" \
    "-Doutreach.hub.org=Fedasil" \
    "-Doutreach.tmp=$work/tmp" \
    "-Doutreach.directory=$work/directory" \
    org.outreach.core.HostTestsKt "${filter[@]}"
