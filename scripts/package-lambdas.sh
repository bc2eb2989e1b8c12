#!/usr/bin/env bash
# Builds the Lambda binary of crates/sde-lambda — one binary for every function, which runs the
# function its handler names — as a release bootstrap.zip with cargo-lambda, for the
# architecture in deploy/lambda.yml (SDE_LAMBDA_ARCH overrides it).
#
#   SDE_LAMBDA_ARCH=x86_64 bash scripts/package-lambdas.sh   # what the test command builds
#   bash scripts/package-lambdas.sh                          # deploy/lambda.yml's (arm64)
#
# cargo-lambda writes $CARGO_TARGET_DIR/lambda/sde-lambda/bootstrap.zip, which is copied to
# $CARGO_TARGET_DIR/lambda-zips/<arch>/sde-lambda.zip, the artifact every function of
# serverless.yml deploys; the <arch> folder makes a serverless.yml that names another
# architecture than the build fail to package. One binary links once however many functions
# there are: linking (thin LTO) is most of the build's time.
#
# The target is glibc 2.34 (cargo-lambda cross-links with zig): the provided.al2023 runtime
# has glibc 2.34, and a binary linked against the build machine's newer glibc would not start.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sde-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

arch="${SDE_LAMBDA_ARCH:-$(sed -n 's/^architecture:[[:space:]]*\([a-z0-9_]*\).*/\1/p' deploy/lambda.yml)}"
case "$arch" in
    x86_64) triple="x86_64-unknown-linux-gnu" ;;
    arm64) triple="aarch64-unknown-linux-gnu" ;;
    *)
        echo "package-lambdas: architecture must be x86_64 or arm64, got '$arch'" >&2
        exit 2
        ;;
esac

bash deploy/install-tools.sh python
# cargo-lambda writes C compiler wrappers named after the path of its own executable and points
# CC at them. A path inside the checkout would differ in every clone, and a changed CC reruns
# the build scripts of the C-building crates (aws-lc-sys, ring) and rebuilds everything above
# them. So cargo runs a copy kept beside the build cache, at the same path for every checkout.
# cargo finds the `cargo-lambda` subcommand there, and cargo-lambda finds zig (the venv's
# ziglang) on PATH.
tools="$CARGO_TARGET_DIR/tools/bin"
mkdir -p "$tools"
if ! cmp -s .venv/bin/cargo-lambda "$tools/cargo-lambda"; then
    cp .venv/bin/cargo-lambda "$tools/cargo-lambda.partial"
    mv "$tools/cargo-lambda.partial" "$tools/cargo-lambda"
fi
export PATH="$tools:$PWD/.venv/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
    echo "package-lambdas: the Rust standard library for $triple is not installed;" \
        "run: rustup target add $triple" >&2
    exit 1
fi

echo "package-lambdas: building crates/sde-lambda for $arch ($triple, glibc 2.34) into $CARGO_TARGET_DIR/lambda" >&2
cargo lambda build --release --locked --package sde-lambda --bin sde-lambda \
    --target "$triple.2.34" --output-format zip >&2

zips="$CARGO_TARGET_DIR/lambda-zips/$arch"
built="$CARGO_TARGET_DIR/lambda/sde-lambda/bootstrap.zip"
if [ ! -f "$built" ]; then
    echo "package-lambdas: $built was not built" >&2
    exit 1
fi
rm -rf "$zips"
mkdir -p "$zips"
cp "$built" "$zips/sde-lambda.zip"
echo "package-lambdas: $zips/sde-lambda.zip ($(du -h "$zips/sde-lambda.zip" | cut -f1))" >&2
