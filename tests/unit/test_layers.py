"""Imports run one way (docs/architecture.md, "Layers"): the import-linter contracts in
pyproject.toml hold for the code, and they catch an import that runs the wrong way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("server", "signaling", "vocabulary")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS)], cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def copy_of_the_code(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_code_keeps_every_contract(tmp_path: Path) -> None:
    result = lint_imports(copy_of_the_code(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "reverse_import", "broken"),
    [
        ("server/state/keys.py", "import server.service", "The server's layers"),
        ("server/domain/room.py", "import server.state.rooms", "The server's layers"),
        ("server/rules/roles.py", "import signaling.messages", "The wire stays out"),
        ("signaling/frames.py", "import server.config", "signaling is a library"),
        ("vocabulary/actions.py", "import signaling.messages", "vocabulary imports nothing"),
    ],
)
def test_an_import_the_wrong_way_breaks_a_contract(
    tmp_path: Path, module: str, reverse_import: str, broken: str
) -> None:
    tree = copy_of_the_code(tmp_path)
    with (tree / module).open("a") as source:
        source.write(f"\n{reverse_import}  # the wrong way\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert any(
        line.startswith(broken) and line.endswith("BROKEN") for line in result.stdout.splitlines()
    ), result.stdout
