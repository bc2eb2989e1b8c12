#!/usr/bin/env bash
# The one test command: installs what the tests need (idempotently, inside the repo's ignored
# folders), then runs formatting, lints and every test suite. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sde-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "moto server for the AWS adapter tests"
moto_env="$(bash scripts/moto.sh start)"   # installs .venv + moto on first use, then starts in ~2 s
eval "$moto_env"
trap 'bash scripts/moto.sh stop' EXIT

step "LibreOffice Calc for the spreadsheet test of CSV exports (crates/sde-core/tests/spreadsheet.rs)"
if ! command -v soffice >/dev/null && [[ "$(id -u)" -eq 0 ]]; then
  pkg=(apt-get install -y -q --no-install-recommends libreoffice-calc-nogui)
  DEBIAN_FRONTEND=noninteractive "${pkg[@]}" || { apt-get update -q && DEBIAN_FRONTEND=noninteractive "${pkg[@]}"; }
fi

step "cargo test"
cargo test --workspace --locked

step "asl-validator on statemachine/download-request.asl.json"
bash tests/asl/validate.sh

step "browser test of the try-it page (headless Chromium)"
bash scripts/browser-test.sh

step "deployment check: Lambda zips, serverless package, cfn-lint, terraform and IAM properties"
bash scripts/deploy-check.sh
