"""Every function serverless.yml declares is deployed from the zip scripts/package-lambdas.sh
built — one `bootstrap`, for the configured architecture, runnable on provided.al2023 — and names
in its handler a function that binary runs."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import checks

FUNCTIONS_DIR = checks.REPO / "crates" / "sde-lambda" / "src" / "functions"


def binary_functions() -> set[str]:
    """The functions the binary runs: one module each under src/functions/."""
    return {p.stem.replace("_", "-") for p in FUNCTIONS_DIR.glob("*.rs") if p.stem != "mod"}


def functions(template):
    return {
        name: r["Properties"]
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
    }


def test_the_template_uses_the_configured_architecture_and_runtime(template, configured_architecture):
    for name, function in functions(template).items():
        assert function["Architectures"] == [configured_architecture], name
        assert function["Runtime"] == "provided.al2023", name


def test_every_function_of_the_binary_is_deployed_and_every_handler_names_one(template):
    handlers = [f["Handler"] for f in functions(template).values()]
    assert sorted(handlers) == sorted(binary_functions())


def test_every_function_deploys_the_one_binary(serverless_state):
    artifacts = {
        Path(f["package"]["artifact"]).name for f in serverless_state["service"]["functions"].values()
    }
    assert artifacts == {"sde-lambda.zip"}


def test_every_function_has_a_built_zip_for_its_architecture(serverless_state, configured_architecture):
    for key, function in serverless_state["service"]["functions"].items():
        artifact = Path(function["package"]["artifact"])
        assert artifact.is_file(), f"{key}: {artifact} was not built"
        assert artifact.parent.name == configured_architecture, artifact
        assert checks.zip_problems(artifact.read_bytes(), configured_architecture) == [], key


def test_every_sde_variable_a_function_is_given_is_read_by_the_code(template):
    source = "\n".join(
        path.read_text() for path in (checks.REPO / "crates").glob("*/src/**/*.rs")
    )
    read = set(re.findall(r"\bSDE_[A-Z0-9_]+\b", source))
    for name, function in functions(template).items():
        given = function.get("Environment", {}).get("Variables", {})
        for variable in given:
            if variable.startswith("SDE_"):
                assert variable in read, f"{name} sets {variable}, which no code reads"


def _zip_of(binary: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        archive.writestr(info, binary)
    return buffer.getvalue()


def _elf(machine: int, extra: bytes = b"") -> bytes:
    header = bytearray(64)
    header[:4] = b"\x7fELF"
    header[4] = 2  # 64-bit
    header[5] = 1  # little-endian
    header[18:20] = machine.to_bytes(2, "little")
    return bytes(header) + extra


def test_a_zip_built_for_the_other_architecture_is_reported():
    arm = _zip_of(_elf(checks.ELF_MACHINES["arm64"]))
    assert checks.zip_problems(arm, "x86_64") == [
        "bootstrap is built for arm64, the function is configured for x86_64"
    ]
    assert checks.zip_problems(arm, "arm64") == []


def test_a_binary_needing_a_newer_glibc_than_al2023_is_reported():
    binary = _zip_of(_elf(62, b"GLIBC_2.17\x00GLIBC_2.38\x00"))
    assert checks.zip_problems(binary, "x86_64") == [
        "bootstrap needs glibc 2.38; provided.al2023 has 2.34"
    ]
