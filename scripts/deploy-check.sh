#!/usr/bin/env bash
# Offline validation of the AWS deployment with the real tools, no AWS account needed:
#   1. installs the pinned deploy tools (deploy/install-tools.sh: .tools/node and .venv)
#   2. builds the Lambda zips once (scripts/package-lambdas.sh, x86_64 here: the arm64 std
#      library cannot be fetched offline; cached in $CARGO_TARGET_DIR)
#   3. `serverless package --stage ci` (deploy/settings/ci.yml stands in for SSM, dummy
#      credentials, no telemetry)
#   4. cfn-lint on the packaged template (deploy/cfn-lint.yaml lists each ignored warning and why)
#   5. terraform fmt -check, when terraform is installed (validate needs the providers, online)
#   6. pytest tests/deploy: terraform's security properties (python-hcl2), each function's
#      zip and architecture, the IAM allow-list, asl-validator - each also shown failing on a
#      broken copy.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sde-target}"
export SDE_LAMBDA_ARCH="${SDE_LAMBDA_ARCH:-x86_64}"
export PYTHONDONTWRITEBYTECODE=1
started=$SECONDS

step() { printf '\n==> deploy-check: %s\n' "$*"; }

step "deploy tools"
bash deploy/install-tools.sh

step "Lambda zips ($SDE_LAMBDA_ARCH)"
bash scripts/package-lambdas.sh

step "serverless package --stage ci"
rm -rf .serverless
(
    # Dummy credentials and no AWS config: packaging must not depend on (or touch) an account.
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
    export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
    export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
    export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_INTERACTIVE_SETUP_DISABLE=1
    .tools/node/node_modules/.bin/serverless package --stage ci --region eu-west-1 </dev/null
)

step "cfn-lint"
.venv/bin/cfn-lint --config-file deploy/cfn-lint.yaml -- .serverless/cloudformation-template-update-stack.json
echo "cfn-lint $(.venv/bin/cfn-lint --version | awk '{print $2}'): no errors, no unlisted warnings"

if command -v terraform >/dev/null 2>&1; then
    step "terraform fmt -check"
    TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -diff -recursive terraform
fi

step "pytest tests/deploy"
.venv/bin/python -m pytest -c tests/deploy/pytest.ini tests/deploy

printf '\ndeploy-check: passed in %d s\n' "$((SECONDS - started))"
