#!/usr/bin/env bash
# The browser test of the try-it page (crates/sde-local/page/): installs what it needs
# (idempotently — playwright-core under .tools/browser, Debian's Chromium when missing), builds
# the debug `sde` binary and runs tests/browser/page.test.mjs with node's test runner. It starts
# its own local stack on a free port over a temporary data directory and leaves screenshots in
# target/page-test.png and target/page-test-narrow.png.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sde-target}"

PLAYWRIGHT_CORE_VERSION="1.65.1"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
# Its own folder, not .tools/node: that tree is (re)created by `npm ci` for the deploy tools,
# which would remove any package not in their lock file.
export SDE_BROWSER_TOOLS="$PWD/.tools/browser"

if [[ ! -x "$CHROMIUM" ]]; then
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "browser test: $CHROMIUM is missing; install Debian's Chromium first:" >&2
    echo "  sudo apt-get install -y chromium" >&2
    exit 1
  fi
  echo "browser test: $CHROMIUM is missing; installing Debian's Chromium (apt-get install -y chromium)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q chromium >&2; then
    apt-get update -q >&2
    apt-get install -y -q chromium >&2
  fi
fi

installed_version() {
  node -e 'try { process.stdout.write(require(process.argv[1]).version) } catch (e) {}' \
    "$SDE_BROWSER_TOOLS/node_modules/playwright-core/package.json"
}
if [[ "$(installed_version)" != "$PLAYWRIGHT_CORE_VERSION" ]]; then
  echo "browser test: installing playwright-core@$PLAYWRIGHT_CORE_VERSION into .tools/browser…" >&2
  mkdir -p "$SDE_BROWSER_TOOLS"
  npm install --silent --no-audit --no-fund --save-exact --prefix "$SDE_BROWSER_TOOLS" \
    "playwright-core@$PLAYWRIGHT_CORE_VERSION" >&2
fi

# The binary `cargo test --workspace` built for the integration tests, with the same features: a
# plain `cargo build --bin sde` resolves features for the binary alone and recompiles some sixty
# crates (12 minutes on a cold machine). After the test command's `cargo test` this is a no-op.
cargo test --workspace --locked --no-run >&2
export SDE_BIN="$CARGO_TARGET_DIR/debug/sde"
node --test tests/browser/page.test.mjs
