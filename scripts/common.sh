# Shared by scripts/demo and scripts/test: idempotent set-up and a throwaway
# PostgreSQL cluster. Source it; run as root (it installs packages) or as a
# user with sudo.
set -euo pipefail

PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
PGRX_VERSION=0.18.1
# PostgreSQL refuses to run as root: clusters run as this user.
PG_USER=${WAL2ANY_PG_USER:-wal2any}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '\n==> %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
    local wanted=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-contrib libclang-dev clang sudo
                  build-essential pkg-config python3 python3-pip)
    local missing=()
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    # The dev headers must match the installed server exactly.
    local server dev
    server=$(dpkg-query -W -f='${Version}' postgresql-$PG_MAJOR 2>/dev/null || true)
    dev=$(dpkg-query -W -f='${Version}' postgresql-server-dev-$PG_MAJOR 2>/dev/null || true)
    if [ ${#missing[@]} -gt 0 ] || [ "$server" != "$dev" ]; then
        log "installing ${missing[*]:-matching server and headers}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${wanted[@]}" postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR >/dev/null
    fi
    # Debian's postgresql-common starts a main cluster on install; we never use it.
    if [ -d /etc/postgresql/$PG_MAJOR/main ] && command -v pg_ctlcluster >/dev/null; then
        as_root pg_ctlcluster $PG_MAJOR main stop >/dev/null 2>&1 || true
    fi
}

install_cargo_pgrx() {
    export PATH="$HOME/.cargo/bin:$PATH"
    if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
        log "installing cargo-pgrx $PGRX_VERSION"
        cargo install --locked cargo-pgrx --version "$PGRX_VERSION"
    fi
    if ! grep -qs "pg$PG_MAJOR = \"$PG_CONFIG\"" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
        log "cargo pgrx init --pg$PG_MAJOR"
        cargo pgrx init --pg$PG_MAJOR="$PG_CONFIG"
    fi
}

ensure_pg_user() {
    if ! id "$PG_USER" >/dev/null 2>&1; then
        as_root useradd --system --create-home --shell /bin/bash "$PG_USER"
    fi
}

setup_all() {
    install_packages
    install_cargo_pgrx
    ensure_pg_user
}

# Builds the plugin and installs wal2any.so into the server's $libdir, by
# copy and rename (scripts/install): never in place under a running server.
build_and_install() {
    log "building and installing wal2any (release)"
    "$REPO_ROOT/scripts/install" --pg-config "$PG_CONFIG" >&2
    ls -l "$($PG_CONFIG --pkglibdir)/wal2any.so" >&2
}

# PostgreSQL 15.19+ only loads output plugins listed in output_plugin_libraries
# (CVE-2026-6471); older servers do not know the parameter.
allowed_plugins_line() {
    local described
    described=$(as_root runuser -u "$PG_USER" -- "$PG_BIN/postgres" --describe-config 2>/dev/null || true)
    if grep -q '^output_plugin_libraries' <<<"$described"; then
        echo "output_plugin_libraries = 'pgoutput, test_decoding, wal2any, wal2json, decoderbufs'"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_cluster DIR [extra postgresql.conf lines...]: initdb + start as $PG_USER.
# Exports PGHOST, PGPORT, PGUSER, CLUSTER_DIR for psql and friends.
start_cluster() {
    CLUSTER_DIR=$1; shift
    as_root rm -rf "$CLUSTER_DIR"
    as_root mkdir -p "$CLUSTER_DIR"
    as_root chown "$PG_USER" "$CLUSTER_DIR"
    chmod o+x "$(dirname "$CLUSTER_DIR")" 2>/dev/null || true
    as_root runuser -u "$PG_USER" -- "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    export PGPORT; PGPORT=$(free_port)
    {
        echo "port = $PGPORT"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$CLUSTER_DIR'"
        echo "wal_level = logical"
        echo "max_replication_slots = 20"
        echo "max_wal_senders = 20"
        echo "fsync = off"
        echo "max_prepared_transactions = 10"
        allowed_plugins_line
        for line in "$@"; do echo "$line"; done
    } | as_root tee -a "$CLUSTER_DIR/data/postgresql.conf" >/dev/null
    as_root runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/log" -w start >/dev/null
    export PGHOST=127.0.0.1 PGUSER=postgres CLUSTER_DIR
    export PATH="$PG_BIN:$PATH"
}

stop_cluster() {
    if [ -n "${CLUSTER_DIR:-}" ] && [ -f "$CLUSTER_DIR/data/postmaster.pid" ]; then
        as_root runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null || true
    fi
}
