#!/usr/bin/env bash
# Runs a command with OUTREACH_TEST_DATABASE naming a PostgreSQL server the hub's tests and
# benchmarks may create databases on:
#
#   scripts/with-postgres.sh cargo test -p outreach-hub
#
# When OUTREACH_TEST_DATABASE is set already (a server of your own: a URL whose role may
# CREATE DATABASE), the command simply runs. Otherwise this starts a throwaway cluster: Debian's
# `postgresql` package (installed here when initdb/pg_ctl are missing), a cluster in a temporary
# directory owned by an unprivileged user (the server refuses to run as root), listening on a
# free loopback port only, with trust authentication for that loopback address only, and TLS
# with a certificate of its own CA (OUTREACH_TEST_DATABASE_CA). It is stopped and deleted when
# the command ends, whatever its outcome.
set -euo pipefail

if [ -n "${OUTREACH_TEST_DATABASE:-}" ]; then
    exec "$@"
fi

find_bin() {
    local dir
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return
        fi
    done
}

bin=$(find_bin)
if [ -z "$bin" ]; then
    echo "with-postgres: installing PostgreSQL (Debian's postgresql package)" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
    bin=$(find_bin)
fi
if [ -z "$bin" ]; then
    echo "with-postgres: no initdb/pg_ctl found after installing postgresql" >&2
    exit 1
fi

tmp=$(mktemp -d -t outreach-pg.XXXXXX)
run_as=()
if [ "$(id -u)" -eq 0 ]; then
    # The server refuses to run as root: the cluster belongs to the postgres user (made by the
    # package) or, failing that, to nobody.
    owner=postgres
    id "$owner" >/dev/null 2>&1 || owner=nobody
    chown "$owner" "$tmp"
    run_as=(runuser -u "$owner" --)
fi
chmod 700 "$tmp"

# A free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

cleanup() {
    "${run_as[@]}" "$bin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

"${run_as[@]}" "$bin/initdb" -D "$tmp/data" -U outreach --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$tmp/initdb.log" 2>&1 \
    || { cat "$tmp/initdb.log" >&2; exit 1; }
# TLS, with a certificate for 127.0.0.1 signed by a CA made for this cluster alone, so that the
# hub's verification of the server is tested too (OUTREACH_TEST_DATABASE_CA names the CA).
ssl_opts=""
if command -v openssl >/dev/null 2>&1; then
    (
        cd "$tmp"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Outreach throwaway test CA" \
            -keyout ca.key -out ca.pem >/dev/null 2>&1
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr >/dev/null 2>&1
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >san.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
            -extfile san.ext -out server.pem >/dev/null 2>&1
        rm -f ca.key server.csr ca.srl san.ext
        chmod 600 server.key
    )
    if [ ${#run_as[@]} -gt 0 ]; then
        chown "$owner" "$tmp/server.key" "$tmp/server.pem"
    fi
    chmod 644 "$tmp/ca.pem"
    ssl_opts="-c ssl=on -c ssl_cert_file=$tmp/server.pem -c ssl_key_file=$tmp/server.key"
    export OUTREACH_TEST_DATABASE_CA="$tmp/ca.pem"
fi

cat >"$tmp/data/pg_hba.conf" <<HBA
# Throwaway test cluster: loopback only.
host all all 127.0.0.1/32 trust
HBA
"${run_as[@]}" "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$tmp' -c max_connections=300 -c shared_buffers=128MB $ssl_opts" \
    start >/dev/null \
    || { cat "$tmp/server.log" >&2; exit 1; }

export OUTREACH_TEST_DATABASE="postgres://outreach@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (throwaway cluster in $tmp)" >&2
set +e
"$@"
status=$?
set -e
exit $status
