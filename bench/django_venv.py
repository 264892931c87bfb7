"""The baseline's own environment: Django, DRF and simplejwt from PyPI in ``bench/.baseline/``.

A separate venv, not the project's dev dependencies, so the baseline imports exactly what
a Django + simplejwt deployment imports (no moto, no boto3, no cryptography) and the
service side cannot borrow anything from it. Versions are pinned to the project's
constraints (the simplejwt release the contract is written against). Created once; a
stamp holding the requirements skips the install on later runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BASELINE = BENCH / ".baseline"
VENV = BASELINE / "django-venv"
STAMP = VENV / ".bench-installed"
REQUIREMENTS = ("Django>=5.2,<5.3", "djangorestframework", "djangorestframework-simplejwt==5.5.1", "pyjwt==2.15.1")


def django_python() -> Path:
    """The Django venv's interpreter, creating the venv on first use."""
    python = VENV / "bin" / "python"
    wanted = "\n".join((sys.version, *REQUIREMENTS))
    if python.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return python
    # The same base interpreter as the project venv: both sides run the same CPython build.
    _run([sys.executable, "-m", "venv", "--clear", str(VENV)])
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "-c", str(ROOT / "constraints.txt"), *REQUIREMENTS])
    STAMP.write_text(wanted)
    return python


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed commands
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
