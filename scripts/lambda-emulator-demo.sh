#!/usr/bin/env bash
# Runs one function of the Lambda binary under cargo-lambda's runtime emulator (`cargo lambda
# watch`; SDE_FUNCTION names the function) with every AWS endpoint pointed at moto, invokes it
# with a hand-written event from tests/fixtures/apigw/ and
# prints the function's response and what moto received.
#
#   bash scripts/lambda-emulator-demo.sh              # email-link: SES v2 sends the link email
#   bash scripts/lambda-emulator-demo.sh push-result  # push-result: the delivery record in S3
#
# Installs moto and cargo-lambda into the repo's ignored .venv if needed (from PyPI). Starts moto
# unless one is already running (see scripts/moto.sh), and stops only what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

FUNCTION="${1:-email-link}"
CARGO_LAMBDA_VERSION="1.9.2"
VENV=".venv"
REGION="eu-west-1"
SENDER="exports@example.com"
BUCKET="sde-demo-exports"

log() { printf 'lambda-emulator-demo: %s\n' "$*" >&2; }

case "$FUNCTION" in
    email-link) EVENT="tests/fixtures/apigw/task-email-link.json" ;;
    push-result) EVENT="tests/fixtures/apigw/task-push-result.json" ;;
    *)
        echo "usage: $0 [email-link|push-result]" >&2
        exit 2
        ;;
esac

bash scripts/moto.sh install
if [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("cargo-lambda"))' 2>/dev/null || true)" != "$CARGO_LAMBDA_VERSION" ]; then
    log "installing cargo-lambda==$CARGO_LAMBDA_VERSION into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION" >&2
fi
export PATH="$PWD/$VENV/bin:$PATH"

started_moto=1
if bash scripts/moto.sh url >/dev/null 2>&1; then started_moto=0; fi
eval "$(bash scripts/moto.sh start)"
MOTO="$SDE_TEST_MOTO_URL"

work="$(mktemp -d)"
watch_pid=""
cleanup() {
    if [ -n "$watch_pid" ] && kill -0 "$watch_pid" 2>/dev/null; then
        kill -- "-$watch_pid" 2>/dev/null || true
        wait "$watch_pid" 2>/dev/null || true
    fi
    if [ "$started_moto" = 1 ]; then bash scripts/moto.sh stop; fi
    rm -rf "$work"
}
trap cleanup EXIT

# What the deployment would have made: a verified sender, the exports bucket.
AWS_ENDPOINT_URL="$MOTO" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    "$VENV/bin/python" - "$REGION" "$SENDER" "$BUCKET" <<'PY'
import sys, boto3
region, sender, bucket = sys.argv[1:]
boto3.client("sesv2", region_name=region).create_email_identity(EmailIdentity=sender)
s3 = boto3.client("s3", region_name=region)
try:
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
PY

# The function's environment, as serverless.yml would set it, with AWS pointed at moto.
cat >"$work/function.env" <<EOF
AWS_ENDPOINT_URL=$MOTO
AWS_ACCESS_KEY_ID=testing
AWS_SECRET_ACCESS_KEY=testing
AWS_REGION=$REGION
RUST_LOG=info
SDE_FUNCTION=$FUNCTION
SDE_MAIL_FROM=$SENDER
SDE_EXPORTS_BUCKET=$BUCKET
SDE_STATE_MACHINE_ARN=arn:aws:states:$REGION:123456789012:stateMachine:sde-dev-download-request
SDE_WEBSOCKET_ENDPOINT=$MOTO
EOF

port="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log "building and starting $FUNCTION under cargo lambda watch on port $port (log: $work/watch.log)"
setsid cargo lambda watch --ignore-changes --timeout 600 --invoke-address 127.0.0.1 --invoke-port "$port" \
    --env-file "$work/function.env" -p sde-lambda --bin sde-lambda \
    >"$work/watch.log" 2>&1 </dev/null &
watch_pid=$!

# The emulator answers once it listens; the function is built and started on the first invoke.
for _ in $(seq 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    if ! kill -0 "$watch_pid" 2>/dev/null; then
        cat "$work/watch.log" >&2
        exit 1
    fi
    sleep 1
done

log "invoking $FUNCTION with $EVENT"
set +e
response="$(cargo lambda invoke sde-lambda --invoke-address 127.0.0.1 --invoke-port "$port" \
    --data-file "$EVENT" 2>"$work/invoke.err")"
status=$?
set -e
if [ "$status" -ne 0 ]; then
    log "the invoke failed; emulator log follows"
    cat "$work/invoke.err" "$work/watch.log" >&2
    exit 1
fi
echo "function response: $response"

case "$FUNCTION" in
    email-link)
        curl -fsS "$MOTO/moto-api/data.json" | "$VENV/bin/python" -c '
import json, sys
sent = json.loads(sys.argv[1])["messageId"]
for m in json.load(sys.stdin)["ses"]["Message"]:
    if m["id"] == sent:
        print("moto SES sent:", json.dumps({k: m[k] for k in ("id", "source", "destinations", "subject")}))' "$response"
        ;;
    push-result)
        AWS_ENDPOINT_URL="$MOTO" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
            "$VENV/bin/python" - "$REGION" "$BUCKET" <<'PY'
import sys, boto3
region, bucket = sys.argv[1:]
s3 = boto3.client("s3", region_name=region)
for item in s3.list_objects_v2(Bucket=bucket, Prefix="push/").get("Contents", []):
    body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
    print("moto S3 holds:", item["Key"], body)
PY
        ;;
esac
