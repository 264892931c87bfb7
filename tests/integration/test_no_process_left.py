"""The suite's own check (tests/conftest.py): a session that leaves a process running fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT
from tests.local_api import children

LEAKY_TEST = """
import subprocess


def test_starts_a_process_and_forgets_it():
    subprocess.Popen(["sleep", "300"])
"""


def test_given_a_test_that_leaves_a_process_running_when_the_session_ends_then_it_fails_and_kills_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_leaky.py").write_text(LEAKY_TEST)
    before = set(children(os.getpid()))

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0, result.stdout
    assert "processes the tests left running (now killed)" in result.stdout
    assert "sleep 300" in result.stdout
    assert set(children(os.getpid())) == before, "the sleep was killed, not handed to us"
