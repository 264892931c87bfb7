"""A clone is self-contained: no tracked file points at a path outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT

MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
URL_OR_ANCHOR = re.compile(r"[a-z][a-z0-9+.-]*:|#")
# A relative path climbing with ../, not inside a quoted string (attack payloads such as
# kid: "../../../../../../dev/null" are data, not references).
CLIMBING_PATH = re.compile(r"(?<![\w./\"'])((?:\.\./)+[\w.-][\w./-]*)")


def tracked_text_files() -> list[tuple[Path, str]]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30)
    files = []
    for name in filter(None, listed.stdout.decode().split("\0")):
        path = ROOT / name
        try:
            files.append((path, path.read_text()))
        except (UnicodeDecodeError, FileNotFoundError):  # binary, or deleted in the work tree
            continue
    return files


def outside_references(text: str, base: Path, markdown: bool) -> list[str]:
    """Paths in ``text`` (a file in ``base``) that leave the repository; for markdown, also
    relative links to files the repository does not have."""

    def escapes(target: str) -> bool:
        return not (base / target).resolve().is_relative_to(ROOT.resolve())

    found = [path for path in CLIMBING_PATH.findall(text) if escapes(path)]
    if markdown:
        for target in MARKDOWN_LINK.findall(text):
            local = target.split("#", 1)[0]
            if not URL_OR_ANCHOR.match(target) and (escapes(local) or not (base / local).exists()):
                found.append(target)
    return found


def test_given_every_tracked_text_file_when_scanned_then_none_points_outside_the_repository() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path, text in tracked_text_files()
        if (found := outside_references(text, path.parent, path.suffix == ".md"))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    ("line", "outside"),
    [
        ("see (`../shared/contract/simplejwt-contract.md`)", True),
        ("[contract](../shared/contract.md)", True),
        ("[contract](docs/missing.md)", True),
        ("[contract](docs/contract.md#emails)", False),
        ('`kid: "../../../../../../dev/null"` signed with an empty key', False),
        ("[home](https://example.com/../x)", False),
    ],
)
def test_given_a_line_of_the_readme_when_scanned_then_only_references_leaving_the_clone_are_reported(
    line: str, outside: bool
) -> None:
    assert bool(outside_references(line, ROOT, markdown=True)) == outside
