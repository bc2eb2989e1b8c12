#!/usr/bin/env bash
# A real AWS emulator (moto server) for the AWS adapter tests, installed into the repo's ignored
# .venv and run on a free 127.0.0.1 port.
#
#   bash scripts/moto.sh install   # create .venv and pin moto (idempotent, quiet when done)
#   eval "$(bash scripts/moto.sh start)"   # install if needed, start, print `export SDE_TEST_MOTO_URL=…`
#   bash scripts/moto.sh url       # the running server's URL
#   bash scripts/moto.sh stop      # stop the server started by `start`
#
# `start` writes nothing to stdout but the export line (progress goes to stderr), so it can be
# eval'd. Starting twice reuses the running server.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
VENV=".venv"
STATE=".sde/moto"
PY="$VENV/bin/python"

log() { printf 'moto.sh: %s\n' "$*" >&2; }

install() {
    if [ ! -x "$PY" ]; then
        log "creating $VENV"
        python3 -m venv "$VENV" >&2
    fi
    local have
    have="$("$PY" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)"
    if [ "$have" != "$MOTO_VERSION" ] || ! "$PY" -c 'import flask, flask_cors' 2>/dev/null; then
        log "installing moto[server]==$MOTO_VERSION into $VENV"
        "$PY" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
    fi
}

running_url() {
    [ -f "$STATE/pid" ] && [ -f "$STATE/url" ] || return 1
    local pid
    pid="$(cat "$STATE/pid")"
    kill -0 "$pid" 2>/dev/null || return 1
    local url
    url="$(cat "$STATE/url")"
    curl -fsS -o /dev/null "$url/moto-api/" 2>/dev/null || return 1
    printf '%s\n' "$url"
}

start() {
    local url
    if url="$(running_url)"; then
        printf 'export SDE_TEST_MOTO_URL=%s\n' "$url"
        return 0
    fi
    install
    mkdir -p "$STATE"
    local port
    port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    url="http://127.0.0.1:$port"
    # MOTO_PORT lets Step Functions in execute mode call back into this same server.
    MOTO_PORT="$port" setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" \
        >"$STATE/server.log" 2>&1 </dev/null &
    echo $! >"$STATE/pid"
    printf '%s\n' "$url" >"$STATE/url"
    local tries=0
    until curl -fsS -o /dev/null "$url/moto-api/" 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt 150 ] || ! kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
            log "moto server did not start; its log:"
            cat "$STATE/server.log" >&2 || true
            stop
            return 1
        fi
        sleep 0.2
    done
    curl -fsS -o /dev/null -X POST "$url/moto-api/config" -H 'Content-Type: application/json' \
        -d '{"stepfunctions":{"execute_state_machine":true},"lambda":{"use_docker":false}}'
    # With the default "immediate" progression, reading an S3 key's restore status (which
    # /moto-api/data.json does for every key ever made) looks up its bucket, and multipart parts
    # have none: data.json then answers 500. Keys we never restore need never progress.
    curl -fsS -o /dev/null -X POST "$url/moto-api/state-manager/set-transition" \
        -H 'Content-Type: application/json' \
        -d '{"model_name":"s3::keyrestore","transition":{"progression":"manual","times":1000000000}}'
    log "moto $MOTO_VERSION listening on $url (log: $STATE/server.log)"
    printf 'export SDE_TEST_MOTO_URL=%s\n' "$url"
}

stop() {
    if [ -f "$STATE/pid" ]; then
        local pid
        pid="$(cat "$STATE/pid")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$STATE/pid" "$STATE/url"
    fi
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    url) running_url ;;
    *)
        echo "usage: $0 install|start|stop|url" >&2
        exit 2
        ;;
esac
