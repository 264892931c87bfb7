"""The operators' CloudWatch dashboard as template.yaml defines it, read back as data.

The dashboard body is one ``Fn::Sub`` string. Read here, each ``${Parameter}`` becomes the
parameter's default, ``${AWS::Region}`` the local region and each ``${Resource}`` its logical
id: a function's metrics then name the function of the template they watch
(tools/render_dashboard.py draws them, tests/integration/test_dashboard.py checks them).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.gateway import TEMPLATE, read_template

DASHBOARD = "OperationsDashboard"
PSEUDO_PARAMETERS = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
SUBSTITUTION = re.compile(r"\$\{([^}!]+)\}")
# A metric as CloudWatch tells them apart: namespace, name, its dimensions (sorted).
MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Metric:
    """One line of a graph: CloudWatch's ``[namespace, name, dimension, value, ..., {options}]``."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    label: str
    stat: str

    @property
    def key(self) -> MetricKey:
        return (self.namespace, self.name, tuple(sorted(self.dimensions)))


@dataclass(frozen=True)
class Widget:
    """A widget's place on CloudWatch's 24-column grid and what it shows."""

    kind: str
    x: int
    y: int
    width: int
    height: int
    title: str
    metrics: tuple[Metric, ...]
    thresholds: tuple[tuple[str, float], ...]
    markdown: str


def functions(template: dict[str, Any]) -> dict[str, str]:
    """Each function of the template: logical id -> its folder under functions/."""
    return {
        name: resource["Properties"]["CodeUri"].removeprefix("functions/")
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def resolve(text: str, template: dict[str, Any]) -> str:
    """``Fn::Sub``'s substitutions as a stack with default parameters would make them, the
    resources named by their logical ids."""
    parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in parameters:
            return parameters[name]
        if name in template["Resources"]:
            return name
        raise KeyError(f"the dashboard names ${{{name}}}, which is no parameter or resource of the template")

    return SUBSTITUTION.sub(value, text)


def body(template: dict[str, Any]) -> dict[str, Any]:
    """The dashboard body JSON, substituted."""
    source = template["Resources"][DASHBOARD]["Properties"]["DashboardBody"]["Fn::Sub"]
    return dict(json.loads(resolve(source, template)))


def widgets(template_path: Path = TEMPLATE) -> list[Widget]:
    """Every widget of the template's dashboard, in the body's order."""
    template = read_template(template_path)
    return [_widget(spec) for spec in body(template)["widgets"]]


def _widget(spec: dict[str, Any]) -> Widget:
    properties = spec["properties"]
    default_stat = properties.get("stat", "Average")
    metrics = tuple(_metric(line, default_stat) for line in properties.get("metrics", []))
    horizontal = properties.get("annotations", {}).get("horizontal", [])
    return Widget(
        kind=spec["type"],
        x=spec["x"],
        y=spec["y"],
        width=spec["width"],
        height=spec["height"],
        title=properties.get("title", ""),
        metrics=metrics,
        thresholds=tuple((line["label"], float(line["value"])) for line in horizontal),
        markdown=properties.get("markdown", ""),
    )


def _metric(line: list[Any], default_stat: str) -> Metric:
    options = line[-1] if isinstance(line[-1], dict) else {}
    names = [part for part in line if isinstance(part, str)]
    namespace, name, pairs = names[0], names[1], names[2:]
    dimensions = tuple(zip(pairs[::2], pairs[1::2], strict=True))
    return Metric(namespace, name, dimensions, options.get("label", name), options.get("stat", default_stat))


def emf_values(lines: Iterable[str]) -> Counter[MetricKey]:
    """The sums CloudWatch would record from these log lines: each embedded metric format
    (EMF) line's metrics under each of its dimension sets; other lines are ignored."""
    sums: Counter[MetricKey] = Counter()
    for line in lines:
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple(sorted((name, str(record[name])) for name in dimension_set))
                for metric in directive["Metrics"]:
                    value = record[metric["Name"]]
                    total = sum(value) if isinstance(value, list) else value
                    sums[(directive["Namespace"], metric["Name"], dimensions)] += total
    return sums
