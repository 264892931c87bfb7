"""`make help` is generated from the Makefile's `## ` comments: every target a person runs is in it."""

from __future__ import annotations

import re
import subprocess

from tests.helpers import ROOT

MAKEFILE = ROOT / "Makefile"
# sam build runs these itself, one per function or layer of template.yaml (BuildMethod: makefile).
SAM_BUILD_RECIPE = re.compile(r"build-[A-Z]\w+")


def makefile_targets() -> list[str]:
    """Every rule's target, file targets (``$(STAMP)``) and variable assignments aside."""
    rule = re.compile(r"^([a-zA-Z][\w-]*)\s*:(?!=)")
    return [found.group(1) for line in MAKEFILE.read_text().splitlines() if (found := rule.match(line))]


def help_targets() -> list[str]:
    result = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    )
    return [line.split()[1] for line in result.stdout.splitlines()]


def test_given_the_makefile_when_make_help_runs_then_every_target_but_sams_build_recipes_is_listed_once() -> None:
    listed = help_targets()
    wanted = [target for target in makefile_targets() if not SAM_BUILD_RECIPE.fullmatch(target)]

    assert sorted(listed) == sorted(set(wanted))
    assert len(listed) == len(set(listed))


def test_given_the_makefile_when_make_help_runs_then_it_lists_the_targets_the_issue_found_missing() -> None:
    assert {"template", "check-build", "format", "install", "bench-login-timing", "clean", "deploy"} <= set(
        help_targets()
    )


def test_given_the_phony_list_when_compared_with_make_help_then_they_agree() -> None:
    phony = re.search(r"^\.PHONY:(.*)$", MAKEFILE.read_text(), re.MULTILINE)
    assert phony is not None
    assert sorted(phony.group(1).split()) == sorted(help_targets())


def test_given_make_help_when_lint_is_described_then_it_does_not_claim_the_template_checks() -> None:
    result = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True)
    lint = next(line for line in result.stdout.splitlines() if line.split()[1] == "lint")
    assert "cfn-lint" not in lint
    assert "sam validate" not in lint


def dry_run(*arguments: str) -> subprocess.CompletedProcess[str]:
    """What `make -n` would run (the pytest line last), without running it."""
    return subprocess.run(
        ["make", "--no-print-directory", "-n", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=30
    )


def test_given_an_area_when_make_test_runs_then_pytest_runs_that_folder_only_and_no_area_runs_everything() -> None:
    for area in ("unit", "contract", "adversarial", "integration", "client", "oidc", "browser"):
        assert (ROOT / "tests" / area).is_dir()
        assert dry_run("test", f"AREA={area}").stdout.splitlines()[-1] == f".venv/bin/python -m pytest tests/{area}"
    assert dry_run("test").stdout.splitlines()[-1].split() == [".venv/bin/python", "-m", "pytest"], "CI: everything"


def test_given_an_unknown_area_when_make_test_runs_then_it_stops_naming_the_areas() -> None:
    result = dry_run("test", "AREA=units")

    assert result.returncode != 0
    assert "AREA=units is not one of: unit contract adversarial integration client oidc browser" in result.stderr
