"""The template's resource count after the SAM transform, against CloudFormation's 500 per stack.

Each function with its routes becomes many resources (role, permissions per route, methods,
log group, alarms): a new capability is counted here before a deploy would refuse it.
Conditional resources are all counted (the worst case: every option on). Run with the SAM
CLI's interpreter (it carries samtranslator and PyYAML, all that tools/gateway.py's template reader
needs) from the project's root: ``make template`` runs ``python -m tools.count_resources``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.parser import parser
from samtranslator.translator.translator import Translator

from tools.gateway import read_template

STACK_LIMIT = 500
HEADROOM = 50  # warn when a capability or two more would reach the limit
CODE_LOCATIONS = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def transform(template: dict[str, Any]) -> dict[str, Any]:
    """The SAM template as CloudFormation deploys it: SAM's transform, run here as the service runs it."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    logging.disable(logging.WARNING)  # the translator's feature-toggle and metrics notices
    translated: dict[str, Any] = Translator(managed_policy_map={}, sam_parser=parser.Parser()).translate(
        sam_template=template, parameter_values={}, get_managed_policy_map=lambda: {}
    )
    return translated


def with_placeholder_code(template: dict[str, Any]) -> dict[str, Any]:
    """The template with every function's code at a placeholder S3 address: the transform wants an
    uploaded artifact (``sam package`` writes the real ones), and where it is changes no resource."""
    for resource in template["Resources"].values():
        location = CODE_LOCATIONS.get(resource.get("Type", ""))
        if location:
            resource.setdefault("Properties", {})[location] = "s3://bucket/artifact.zip"
    return template


def transformed_resources(template_path: Path) -> int:
    return len(transform(with_placeholder_code(read_template(template_path)))["Resources"])


def main(argv: list[str]) -> int:
    worst = 0
    for path in argv or ["template.yaml"]:
        count = transformed_resources(Path(path))
        print(f"{path}: {count} resources after the SAM transform (limit {STACK_LIMIT})")
        worst = max(worst, count)
    if worst > STACK_LIMIT:
        print("over CloudFormation's limit: group routes of one capability into one function", file=sys.stderr)
        return 1
    if worst > STACK_LIMIT - HEADROOM:
        print(f"within {HEADROOM} of the limit", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
