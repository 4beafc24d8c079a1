"""`make demo` installs only what the panel needs to run; `make test` adds the test tools on top.

The pins live in pyproject.toml alone: `dependencies` for running, the `dev` extra for testing.
The Makefile's two stamps are checked by asking make itself what it would do (`make -n`).
"""

import os
import shutil
import subprocess
from importlib.metadata import requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
TEST_TOOLS = {"pytest", "pytest-django", "hypothesis", "mypy", "ruff", "playwright", "django-stubs"}
VENV_CREATED = "-m venv"
RUNTIME_INSTALL = "pip install --quiet -e .\n"
TOOLS_INSTALL = "pip install --quiet -e '.[dev]'"


def _requirements() -> list[Requirement]:
    return [Requirement(line) for line in requires("smmpanel") or []]


def test_the_panel_needs_no_test_tool_to_run() -> None:
    runtime = {req.name.lower() for req in _requirements() if req.marker is None}
    extras = {req.name.lower(): req.marker for req in _requirements() if req.marker is not None}
    dev = {name for name, marker in extras.items() if marker.evaluate({"extra": "dev"})}
    assert "django" in runtime and runtime.isdisjoint(TEST_TOOLS), runtime
    assert dev >= TEST_TOOLS, dev


def _would_run(venv: Path, target: str) -> str:
    """What `make TARGET` would run with this venv folder (make -n: nothing is run)."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(ROOT), f"VENV={venv}", target],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    if shutil.which("make") is None or not (ROOT / "Makefile").exists():
        pytest.skip("needs GNU make and the repository's Makefile")
    return tmp_path / "venv"


def test_make_demo_installs_the_panel_alone(venv: Path) -> None:
    demo = _would_run(venv, "demo")
    assert VENV_CREATED in demo and RUNTIME_INSTALL in demo and "bin/smmpanel demo" in demo
    assert "[dev]" not in demo


def test_make_test_after_make_demo_adds_the_test_tools_and_then_neither_reinstalls(venv: Path) -> None:
    venv.mkdir()
    (venv / ".installed-run").touch()  # as `make demo` leaves it
    setup = _would_run(venv, "setup")
    assert TOOLS_INSTALL in setup and VENV_CREATED not in setup and RUNTIME_INSTALL not in setup
    (venv / ".installed").touch()  # as `make setup` leaves it
    assert "pip install" not in _would_run(venv, "setup")
    assert "pip install" not in _would_run(venv, "demo")


def test_a_changed_pyproject_reinstalls_both(venv: Path) -> None:
    venv.mkdir()
    for stamp in (".installed-run", ".installed"):
        (venv / stamp).touch()
        os.utime(venv / stamp, (0, 0))  # older than pyproject.toml
    setup = _would_run(venv, "setup")
    assert RUNTIME_INSTALL in setup and TOOLS_INSTALL in setup
    assert TOOLS_INSTALL not in _would_run(venv, "demo")
