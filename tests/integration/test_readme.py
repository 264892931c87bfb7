"""The README's first session, run as written against a local server (on free ports).

Every ``$ command`` of the console blocks under "A first session" runs in bash with the
README's URL pointed at the test's server; ``<access>`` and ``<refresh>`` become the tokens
the previous answers carried, as a reader would paste them. Each answer must have the keys
the README shows, in its order, with the same values except tokens and times.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.helpers import ROOT
from tests.local_api import local_api

README = ROOT / "README.md"
README_URL = "http://127.0.0.1:3000"
VARYING = {"access", "refresh", "last_login", "date_joined"}  # tokens and times differ on every run


@dataclass(frozen=True)
class Step:
    command: str
    shown: str  # the README's answer


def first_session_steps() -> list[Step]:
    section = README.read_text().split("## A first session", 1)[1].split("\n## ", 1)[0]
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", section, re.DOTALL):
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            if not lines[index].startswith("$ "):
                index += 1
                continue
            command = lines[index][2:]
            while command.endswith("\\"):
                index += 1
                command = command[:-1] + lines[index]
            index += 1
            shown = []
            while index < len(lines) and lines[index] and not lines[index].startswith("$ "):
                shown.append(lines[index])
                index += 1
            steps.append(Step(command, "\n".join(shown)))
    return steps


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with local_api() as base:
        yield base


def test_given_the_readme_when_its_first_session_is_read_then_it_has_the_django_apis_four_requests() -> None:
    commands = [step.command.split()[0:2] for step in first_session_steps()]
    assert commands[0] == ["make", "local"]
    assert [command[0] for command in commands[1:]] == ["curl"] * 4


def test_given_a_local_server_when_the_readmes_first_session_runs_then_every_answer_is_as_shown(url: str) -> None:
    tokens: dict[str, str] = {}
    for step in first_session_steps():
        if step.command.startswith("make local"):
            continue  # the fixture started it, on free ports
        command = step.command.replace(README_URL, url)
        for name, token in tokens.items():
            command = command.replace(f"<{name}>", token)
        result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30, check=True)
        answer, shown = json.loads(result.stdout), json.loads(step.shown)

        assert list(answer) == list(shown), step.command
        assert {k: v for k, v in answer.items() if k not in VARYING} == {
            k: v for k, v in shown.items() if k not in VARYING
        }, step.command
        tokens.update({name: answer[name] for name in ("access", "refresh") if name in answer})
