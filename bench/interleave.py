"""Warm figures of both sides, timed in alternation so noise on the machine hits both alike.

Each side is a long-lived process (bench/service_side.py, bench/django_side.py warm) that
sets itself up, checks its answers, then serves batches (bench/measure.py's protocol). One
round times one batch of every figure, the two sides' figures alternating, one request at a
time: the processes never run together. Microsecond figures get ``runs.fast`` rounds,
millisecond figures (password hashing, logins) the first ``runs.slow`` of them.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any

from measure import summary


class Side:
    """A side's process: the run's inputs on the first line of stdin, then one command a line."""

    def __init__(self, name: str, command: list[str], inputs: dict[str, Any], cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        self._stderr: IO[str] = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in finish()
        self._process = subprocess.Popen(  # noqa: S603 - our interpreters and scripts
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=cwd, env=env
        )
        if self._process.stdin is None or self._process.stdout is None:
            raise RuntimeError("no pipes to the side's process")
        self._requests, self._answers = self._process.stdin, self._process.stdout
        self.units: dict[str, str] = self.ask(inputs)["units"]

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        try:
            self._requests.write(json.dumps(command) + "\n")
            self._requests.flush()
        except BrokenPipeError:
            pass  # it died: the empty read below says so, with its stderr
        line = self._answers.readline()
        if not line:
            self._process.wait()
            self._stderr.seek(0)
            raise RuntimeError(f"{self.name} side failed:\n{self._stderr.read()[-4000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def finish(self) -> dict[str, Any]:
        report = self.ask({"finish": True})
        self._process.wait(timeout=60)
        self._stderr.close()
        return report


def measure(sides: list[Side], fast: int, slow: int) -> dict[str, dict[str, Any]]:
    """Per side, per figure: summary of per-call times over the rounds."""
    figures = [(side, name, unit) for side in sides for name, unit in side.units.items()]
    order = [figure for pair in _alternate(figures, sides) for figure in pair]
    loops = {(side.name, name): side.ask({"calibrate": name})["loops"] for side, name, _ in order}
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in loops}
    for round_number in range(fast):
        for side, name, unit in order:
            if unit == "ms" and round_number >= slow:
                continue
            count = loops[(side.name, name)]
            samples[(side.name, name)].append(side.ask({"batch": name, "loops": count})["ns"] / count)
    return {
        side.name: {
            name: summary(samples[(side.name, name)], unit, loops=loops[(side.name, name)])
            for name, unit in side.units.items()
        }
        for side in sides
    }


def _alternate(figures: list[tuple[Side, str, str]], sides: list[Side]) -> list[tuple[tuple[Side, str, str], ...]]:
    """The sides' figures zipped, so consecutive requests go to different processes."""
    per_side = [[figure for figure in figures if figure[0] is side] for side in sides]
    longest = max(len(figures_of) for figures_of in per_side)
    return [tuple(figures_of[i] for figures_of in per_side if i < len(figures_of)) for i in range(longest)]
