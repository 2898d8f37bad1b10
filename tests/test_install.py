"""A plain (non-editable) install migrates, applies and runs a watch, far from the source tree.

The wheel is built from a copy of the source tree (so no `build/` or `*.egg-info` lands in it) with
the running environment's setuptools (the `dev` extra), and installed `--no-deps` into a scratch
virtual environment whose `.pth` file adds this environment's site-packages for the
dependencies: a fresh environment with every dependency would cost a gigabyte and a minute per run.
A `.pth` line only appends a directory to `sys.path`, so the `.pth` files inside it (among them an
editable install's finder for the source tree) are not run, and the scratch install is the only
`service` the scratch interpreter can import. Every command runs from an empty working directory
with no `PYTHONPATH`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from contextlib import closing
from pathlib import Path

import pytest

from service.storage import migrate
from tests.peers.openai_peer import OpenAIPeer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# What a build never needs: the VCS, environments, caches and earlier build output.
NOT_BUILT = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", ".demo",
                                   "*.db", ".*_cache")


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(arg) for arg in args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=180)


def _check(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Turnout's wheel, built offline from a copy of the source tree."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_BUILT)
    _check(_run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                "--quiet", "--wheel-dir", base / "dist", source, cwd=base))
    (built,) = (base / "dist").glob("turnout-*.whl")
    return built


@pytest.fixture(scope="module")
def scratch(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A virtual environment with the wheel installed: its interpreter and its scripts directory."""
    venv = tmp_path_factory.mktemp("scratch") / "venv"
    _check(_run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=venv.parent))
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    paths = json.loads(_check(_run(python, "-c", "import json, sysconfig; print(json.dumps(sysconfig.get_paths()))",
                                   cwd=venv.parent)))
    _check(_run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet",
                wheel, cwd=venv.parent))
    # Added after the install, so that pip never sees this environment's editable Turnout as installed there.
    shared = dict.fromkeys(sysconfig.get_path(name) for name in ("purelib", "platlib"))  # lib64 on some systems
    (Path(paths["purelib"]) / "turnout-test-dependencies.pth").write_text("".join(f"{path}\n" for path in shared))
    return python, Path(paths["scripts"])


def test_the_wheel_ships_every_migration(wheel: Path) -> None:
    # given the migrations of the source tree
    revisions = sorted(path.name for path in (ROOT / "alembic" / "versions").glob("*.py"))
    assert revisions
    # when the wheel is listed
    names = set(zipfile.ZipFile(wheel).namelist())
    # then each one, env.py and the revision template are package data of service.storage.migrations
    shipped = "service/storage/migrations/"
    assert {f"{shipped}env.py", f"{shipped}script.py.mako"} <= names
    assert {f"{shipped}versions/{name}" for name in revisions} <= names
    assert not any(name.startswith("alembic/") for name in names), "the alembic library must not be shadowed"


def test_plain_install_upgrades_applies_and_runs(scratch: tuple[Path, Path], watch_file: Path,
                                                  peers: tuple[OpenAIPeer, OpenAIPeer], tmp_path: Path) -> None:
    # given the scratch install, an empty working directory and a SQLite file of its own
    python, scripts = scratch
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    database = tmp_path / "plain.db"
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "PYTHONHOME"}}
    env["TURNOUT_DATABASE_URL"] = f"sqlite:///{database}"
    turnout = scripts / ("turnout.exe" if os.name == "nt" else "turnout")

    # the interpreter imports the installed copy, and finds its migrations as a package resource
    where = _check(_run(python, "-c", "import service, service.storage.migrate as m; "
                                      "print(service.__file__); print(m.script_location())", cwd=cwd, env=env))
    service_file, location = where.splitlines()
    assert not Path(service_file).resolve().is_relative_to(ROOT.resolve()), service_file
    assert Path(service_file).resolve().is_relative_to(python.parent.parent.resolve()), service_file
    assert location == "service.storage:migrations"

    # when a user migrates, applies the watch file and runs the watch against the test peers
    upgraded = _check(_run(turnout, "db", "upgrade", cwd=cwd, env=env))
    applied = _check(_run(turnout, "apply", "-f", watch_file, cwd=cwd, env=env))
    cycle = json.loads(_check(_run(turnout, "run", "qa-watch", "--json", cwd=cwd, env=env)))

    # then each step succeeded and the runs' completions and scores are stored
    assert upgraded.strip() == f"database at migration {migrate.head_revision()}"   # the source tree's head
    assert "watch      qa-watch" in applied and "created" in applied
    production, candidate = cycle["runs"]
    assert (production["model"], production["n_cases"]) == ("prod", 4)
    assert candidate["scores"]["contains"] == pytest.approx(0.5)   # the candidate gets Rome wrong
    prod, cand = peers
    assert prod.requests and cand.requests
    with closing(sqlite3.connect(database)) as connection:
        completions = connection.execute("SELECT COUNT(*) FROM completion").fetchone()[0]
        scores = connection.execute("SELECT COUNT(*) FROM score").fetchone()[0]
    assert completions == 8 and scores == 16   # 2 models x 4 cases, 2 scorers each
