"""`make lint` after `pip install ./client`: its build output (client/build/lib/...) is never checked twice.

pip builds the client in its own folder and leaves ``build/lib/<package>`` behind: a second
copy of the package, which mypy reported as a duplicate module. Each tool runs here on a copy
of that layout with the project's own settings.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

BIN = Path(sys.executable).parent
PACKAGE = '"""A package."""\n\nVALUE: int = 1\n'


def client_with_build_output(tmp_path: Path) -> Path:
    """tmp_path/client/{pkg, build/lib/pkg}, with the project's pyproject.toml at tmp_path."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for where in ("client/pkg", "client/build/lib/pkg"):
        (tmp_path / where).mkdir(parents=True)
        (tmp_path / where / "__init__.py").write_text(PACKAGE)
    # What ruff or pytest would trip on, were they to read the build output.
    (tmp_path / "client/build/lib/pkg/test_copy.py").write_text("import os\n\n\ndef test_copy():\n    assert False\n")
    return tmp_path


def run(tool: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *arguments], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_given_client_build_output_when_mypy_checks_the_client_then_no_duplicate_module(tmp_path: Path) -> None:
    tree = client_with_build_output(tmp_path)

    result = run("mypy", "--cache-dir", str(tmp_path / ".mypy_cache"), "client", cwd=tree)

    assert result.returncode == 0, result.stdout + result.stderr


def test_given_client_build_output_when_ruff_checks_then_it_is_not_read(tmp_path: Path) -> None:
    tree = client_with_build_output(tmp_path)

    result = run("ruff", "check", "--no-cache", ".", cwd=tree)

    assert result.returncode == 0, result.stdout + result.stderr


def test_given_client_build_output_when_pytest_collects_then_none_of_it(tmp_path: Path) -> None:
    tree = client_with_build_output(tmp_path)

    result = run("pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "client", cwd=tree)

    assert "test_copy" not in result.stdout, result.stdout
