#!/usr/bin/env bash
# Installs the deploy tools, pinned, inside the repo's ignored folders (idempotent: a second run
# only compares versions and returns in well under a second):
#   .tools/node  serverless, serverless-step-functions, asl-validator  (deploy/package.json + lock, npm ci)
#   .venv        cargo-lambda (with zig), cfn-lint, python-hcl2, pytest (deploy/requirements.txt)
#
#   bash deploy/install-tools.sh [node|python]   # both when no argument
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'install-tools: %s\n' "$*" >&2; }

node_tools() {
    local tools=".tools/node"
    mkdir -p "$tools"
    # npm ci is only needed when the lockfile changed since the last install.
    if ! cmp -s deploy/package-lock.json "$tools/.deploy-lock.json" \
        || [ ! -x "$tools/node_modules/.bin/serverless" ]; then
        log "npm ci into $tools (serverless, serverless-step-functions, asl-validator)"
        cp deploy/package.json deploy/package-lock.json "$tools/"
        npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error >&2
        cp deploy/package-lock.json "$tools/.deploy-lock.json"
    fi
}

python_tools() {
    if [ ! -x .venv/bin/python ]; then
        bash scripts/moto.sh install   # creates .venv the way the rest of the test command does
    fi
    # Every pinned "name==version" line must be installed at exactly that version.
    if ! .venv/bin/python - deploy/requirements.txt <<'PY'
import importlib.metadata as m, sys
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, version = line.split("==")
    try:
        if m.version(name) != version:
            sys.exit(1)
    except m.PackageNotFoundError:
        sys.exit(1)
PY
    then
        log "pip install -r deploy/requirements.txt into .venv"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r deploy/requirements.txt >&2
    fi
}

case "${1:-all}" in
    node) node_tools ;;
    python) python_tools ;;
    all) node_tools; python_tools ;;
    *) echo "usage: $0 [node|python]" >&2; exit 2 ;;
esac
