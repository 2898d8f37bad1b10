"""The GPU worker's environment resolves: vLLM beside Turnout's core, without the web stack.

vLLM pins torch and fastapi exactly (0.33: `torch==2.14.0`, `fastapi[standard]>=0.133,<0.137`), so
the GPU image (deploy/gpu.Dockerfile) installs Turnout's core with no extras next to the vLLM of its
base image. pip's resolver shows here that this set has a solution, without installing anything.

`pip install --dry-run` still needs each candidate's metadata. Where the index does not serve it
apart from the wheel (PEP 658; the index these machines reach does not), pip downloads whole
wheels: 26 GB for vLLM's CUDA stack, measured. `--use-feature=fast-deps` reads the metadata
out of each wheel with HTTP range requests instead (pip falls back to a download where ranges are
refused); the resolution is the same. About 95 s here, nearly all of it network round trips.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
GPU_DOCKERFILE = ROOT / "deploy" / "gpu.Dockerfile"
WEB_STACK = {"fastapi", "uvicorn", "starlette"}
GPU_IMAGE_PYTHON = "3.12"
"""The Python of the vllm/vllm-openai images; the resolve targets it, whatever runs the tests."""
RESOLVE_TIMEOUT_S = 900


def vllm_version() -> str:
    """The vLLM release of the GPU image's base (`ARG VLLM_VERSION=v0.33.0` -> `0.33.0`)."""
    match = re.search(r"^ARG VLLM_VERSION=v?(\S+)$", GPU_DOCKERFILE.read_text(), re.MULTILINE)
    assert match, f"{GPU_DOCKERFILE} declares no ARG VLLM_VERSION"
    return match.group(1)


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in requirements}


def test_the_core_does_not_require_the_web_stack() -> None:
    project = pyproject()["project"]
    assert not names(project["dependencies"]) & WEB_STACK
    assert {"fastapi", "uvicorn"} <= names(project["optional-dependencies"]["api"])
    assert "vllm" in names(project["optional-dependencies"]["gpu"])


def package_index() -> str:
    return os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")


def skip_unless_index_reachable() -> None:
    """Skip when the package index cannot be reached at all; any answer from it means go on."""
    context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
    url = f"{package_index()}/vllm/"
    try:
        urllib.request.urlopen(url, timeout=30, context=context).close()
    except urllib.error.HTTPError:
        return  # reachable: let pip report what is wrong
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        pytest.skip(f"the package index cannot be reached ({url}: {exc}); this test resolves against it")


def core_project(tmp_path: Path) -> Path:
    """A copy of the project's packaging files and packages: the build writes no egg-info into the tree."""
    copy = tmp_path / "turnout"
    copy.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    for package in ("alembic", "evals", "jobs", "service"):  # alembic/ ships as service.storage.migrations
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.mark.slow
def test_gpu_worker_requirements_resolve_together(tmp_path: Path) -> None:
    # Given the GPU image's vLLM and Turnout's core (the project without extras)
    skip_unless_index_reachable()
    version = vllm_version()
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
               "--disable-pip-version-check", "--use-feature=fast-deps", "--report", str(report),
               "--python-version", GPU_IMAGE_PYTHON, "--only-binary=:all:",
               f"vllm=={version}", str(core_project(tmp_path))]
    # A machine's own pip constraints (a cap on torch, say) must not decide this resolve.
    env = {**os.environ, "PIP_CONSTRAINT": ""}

    # When pip's resolver solves them together
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=RESOLVE_TIMEOUT_S, env=env)
    print(f"resolved in {time.monotonic() - started:.0f} s")
    assert result.returncode == 0, (
        f"pip could not resolve vllm=={version} with Turnout's core:\n{result.stderr[-4000:]}"
    )

    # Then vLLM's exact pins hold, and Turnout came without extras
    resolved = json.loads(report.read_text())["install"]
    installed = {canonicalize_name(item["metadata"]["name"]): item for item in resolved}
    assert installed["vllm"]["metadata"]["version"] == version
    assert "requested_extras" not in installed["turnout"]
    vllm_requires = [Requirement(line) for line in installed["vllm"]["metadata"]["requires_dist"]]
    for requirement in vllm_requires:
        if requirement.marker is None and canonicalize_name(requirement.name) in {"torch", "fastapi"}:
            resolved = installed[canonicalize_name(requirement.name)]["metadata"]["version"]
            assert requirement.specifier.contains(resolved), f"{requirement} but resolved {resolved}"
            print(f"{requirement} -> {resolved}")
    turnout_requires = installed["turnout"]["metadata"].get("requires_dist", [])
    assert not {canonicalize_name(Requirement(line).name) for line in turnout_requires
                if Requirement(line).marker is None} & WEB_STACK
