"""The state machine deployed is statemachine/download-request.asl.json, valid for
asl-validator, naming only functions serverless.yml declares."""

from __future__ import annotations

import json
import subprocess

import checks

ASL = checks.REPO / "statemachine" / "download-request.asl.json"


def definition() -> dict:
    return json.loads(ASL.read_text())


def test_the_repo_validator_passes():
    result = subprocess.run(
        ["bash", str(checks.REPO / "tests" / "asl" / "validate.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_definition_passes_asl_validator(tmp_path):
    result = checks.asl_validator(definition(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_dangling_next_fails_asl_validator(tmp_path):
    broken = definition()
    broken["States"]["GenerateCsv"]["Next"] = "NoSuchState"
    result = checks.asl_validator(broken, tmp_path)
    assert result.returncode != 0
    assert "NoSuchState" in result.stdout + result.stderr


def test_the_machine_invokes_only_declared_functions(serverless_state):
    declared = set(serverless_state["service"]["functions"])
    assert checks.function_refs(definition()) <= declared
    assert checks.function_refs(definition()) == {
        "planExport",
        "generateCsv",
        "composeExport",
        "emailLink",
        "pushResult",
    }


def test_the_packaged_machine_is_the_repo_definition(template):
    machine = template["Resources"]["DownloadRequestStateMachine"]["Properties"]
    packaged = machine["DefinitionString"]
    text = packaged["Fn::Sub"][0] if isinstance(packaged, dict) else packaged
    states = json.loads(text)["States"]
    assert set(states) == set(definition()["States"])
    assert machine["StateMachineName"] == "sde-ci-download-request"
