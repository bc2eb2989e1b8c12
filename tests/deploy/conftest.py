"""Shared inputs of the deploy tests: what scripts/deploy-check.sh produced (the packaged
CloudFormation template, the Serverless state with the resolved artifact paths, the zips) and
the parsed terraform."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checks  # noqa: E402

PACKAGE_DIR = Path(os.environ.get("SDE_SERVERLESS_PACKAGE", checks.REPO / ".serverless"))


def _load(name: str) -> dict:
    path = PACKAGE_DIR / name
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: run `bash scripts/deploy-check.sh`, which builds the zips and "
            "runs `serverless package --stage ci` before these tests"
        )
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def template() -> dict:
    return _load("cloudformation-template-update-stack.json")


@pytest.fixture(scope="session")
def serverless_state() -> dict:
    return _load("serverless-state.json")


@pytest.fixture(scope="session")
def allowlist() -> dict:
    return json.loads((checks.REPO / "tests" / "deploy" / "iam_allowlist.json").read_text())


@pytest.fixture(scope="session")
def terraform() -> dict:
    return checks.load_terraform()


@pytest.fixture(scope="session")
def ssm_read() -> set[str]:
    """SSM parameters a real deploy reads: serverless.yml's settings, plus the secrets the
    functions read at run time (the OpenSearch reader's, writer's and subscriptions user's
    passwords, the link-signing key)."""
    return checks.ssm_names_read_by_serverless(checks.REPO / "deploy" / "settings" / "aws.yml") | {
        "es-password",
        "es-writer-password",
        "es-subscriptions-password",
        "link-key",
    }


@pytest.fixture(scope="session")
def configured_architecture() -> str:
    """SDE_LAMBDA_ARCH, else deploy/lambda.yml: what the build and serverless.yml both use."""
    if os.environ.get("SDE_LAMBDA_ARCH"):
        return os.environ["SDE_LAMBDA_ARCH"]
    for line in (checks.REPO / "deploy" / "lambda.yml").read_text().splitlines():
        if line.startswith("architecture:"):
            return line.split(":", 1)[1].strip()
    pytest.fail("deploy/lambda.yml names no architecture")
