"""The operators' dashboard (template.yaml OperationsDashboard) cannot show an empty graph unnoticed.

Every metric of the service's own namespace that a widget names is one the handlers print in a
real run (tools/dashboard_traffic.py), with the namespace and dimensions the template gives
them; every function's latency and errors are on it; its alarm lines are the alarms'
thresholds; and the README's picture names every widget.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest

from tests.helpers import ROOT
from tools.dashboard import DASHBOARD, Metric, body, functions, resolve, widgets
from tools.dashboard_traffic import LocalRun, run
from tools.gateway import read_template
from tools.render_dashboard import OUTPUT, render

AWS_NAMESPACES = ("AWS/Lambda", "AWS/ApiGateway")


@pytest.fixture(scope="module")
def local_run() -> LocalRun:
    return run()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return read_template()


def own_metrics() -> list[Metric]:
    return [metric for widget in widgets() for metric in widget.metrics if metric.namespace not in AWS_NAMESPACES]


def test_given_the_dashboard_then_every_metric_of_the_service_it_names_is_printed_by_a_run_of_the_handlers(
    local_run: LocalRun,
) -> None:
    named = {metric.key for metric in own_metrics()}

    assert named, "the dashboard names the service's own metrics"
    assert named - local_run.emitted() == set()


def test_given_the_dashboard_then_its_own_metrics_use_the_namespace_and_service_the_functions_are_given(
    template: dict[str, Any],
) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    wanted = (variables["POWERTOOLS_METRICS_NAMESPACE"], (("service", variables["POWERTOOLS_SERVICE_NAME"]),))

    assert {(metric.namespace, metric.dimensions) for metric in own_metrics()} == {wanted}


def test_given_the_dashboard_then_it_names_only_namespaces_it_knows_how_to_check() -> None:
    namespaces = {metric.namespace for widget in widgets() for metric in widget.metrics}

    assert namespaces - {"EcommerceAuth", *AWS_NAMESPACES} == set()


@pytest.mark.parametrize(("name", "stat"), [("Duration", "p50"), ("Duration", "p99"), ("Errors", "Sum")])
def test_given_the_template_functions_then_each_has_its_line_in_the_dashboard(
    template: dict[str, Any], name: str, stat: str
) -> None:
    watched = [
        dict(metric.dimensions)["FunctionName"]
        for widget in widgets()
        for metric in widget.metrics
        if (metric.namespace, metric.name, metric.stat) == ("AWS/Lambda", name, stat)
    ]

    assert sorted(watched) == sorted(functions(template))


def test_given_the_dashboard_then_its_api_gateway_metrics_name_the_stack_api_and_stage(
    template: dict[str, Any],
) -> None:
    api_name = resolve(template["Resources"]["Api"]["Properties"]["Name"]["Fn::Sub"], template)
    stage = template["Parameters"]["Stage"]["Default"]
    gateway = [metric for widget in widgets() for metric in widget.metrics if metric.namespace == "AWS/ApiGateway"]

    assert gateway
    assert {dict(metric.dimensions)["ApiName"] for metric in gateway} == {api_name}
    assert {dict(metric.dimensions)["Stage"] for metric in gateway} == {stage}


def test_given_an_alarm_line_on_a_widget_then_it_is_that_alarms_threshold_on_that_alarms_metric(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    parameters = template["Parameters"]
    checked = 0
    for widget in widgets():
        for alarm_name, level in widget.thresholds:
            alarm = resources[alarm_name]["Properties"]
            threshold = alarm["Threshold"]
            if isinstance(threshold, dict):
                threshold = parameters[threshold["Ref"]]["Default"]
            assert level == float(threshold), alarm_name
            assert alarm["MetricName"] in {metric.name for metric in widget.metrics}, alarm_name
            checked += 1
    assert checked == 3


def test_given_the_dashboard_body_then_it_is_the_json_cloudwatch_reads_with_widgets_on_its_24_column_grid(
    template: dict[str, Any],
) -> None:
    layout = body(template)["widgets"]
    cells = [
        (widget["x"] + column, widget["y"] + row)
        for widget in layout
        for column in range(widget["width"])
        for row in range(widget["height"])
    ]

    assert template["Resources"][DASHBOARD]["Type"] == "AWS::CloudWatch::Dashboard"
    assert all(widget["x"] + widget["width"] <= 24 for widget in layout)
    assert len(cells) == len(set(cells)), "no two widgets overlap"


def svg_text(document: str) -> str:
    """Every text the picture shows, joined (what a reader of the picture sees)."""
    root = ElementTree.fromstring(document)
    return "\n".join("".join(element.itertext()) for element in root.iter("{http://www.w3.org/2000/svg}text"))


def assert_names_every_widget(document: str) -> None:
    shown = svg_text(document)
    for widget in widgets():
        if widget.kind == "text":
            assert widget.markdown.splitlines()[0].removeprefix("## ") in shown
            continue
        assert widget.title in shown
        for metric in widget.metrics:
            assert metric.label in shown, (widget.title, metric.label)


def test_given_the_readme_picture_then_it_names_every_widget_and_line_of_the_template() -> None:
    assert_names_every_widget(OUTPUT.read_text())
    assert f"]({OUTPUT.relative_to(ROOT)})" in (ROOT / "README.md").read_text()


def test_given_a_run_when_the_dashboard_is_rendered_then_the_picture_names_every_widget_and_line(
    local_run: LocalRun,
) -> None:
    assert_names_every_widget(render(local_run))
