"""Draw the template's CloudWatch dashboard as an SVG, filled from a local run of the handlers.

    python -m tools.render_dashboard [--output docs/dashboard.svg]   (make dashboard)

The widgets, their places on CloudWatch's 24-column grid, titles, lines, labels, statistics
and alarm lines are the template's own (tools/dashboard.py reads them); the values come from
tools/dashboard_traffic.py: the EMF lines the handlers printed, their durations on this machine
and the answers they gave, one point per step of the run. The picture says so in its header.
Plain SVG written here: no plotting library.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from xml.sax.saxutils import escape

from tools.dashboard import Metric, Widget, functions, widgets
from tools.dashboard_traffic import ATTACK_STEPS, REUSE_STEP, SES_OUTAGE_STEP, LocalRun, Step, run
from tools.gateway import TEMPLATE, read_template

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "dashboard.svg"
COLUMN, ROW, HEADER = 50, 40, 64  # pixels per grid column and row; the header band above the grid
PADDING, LEGEND_LINE = 10, 14
# CloudWatch's own line colours, in its order (repeated after the sixteenth line, as CloudWatch does).
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
)  # fmt: skip
FONT = 'font-family="Helvetica, Arial, sans-serif"'
ALARM = "#d13212"

Series = list[float | None]


def render(run_result: LocalRun, template_path: Path = TEMPLATE) -> str:
    """The whole dashboard as one SVG document."""
    layout = widgets(template_path)
    folder_of = functions(read_template(template_path))
    width = 24 * COLUMN
    height = HEADER + max(widget.y + widget.height for widget in layout) * ROW
    parts = [_tag("rect", width=width, height=height, fill="#f2f3f3"), *_header(len(run_result.steps))]
    for widget in layout:
        if widget.kind == "text":
            parts.append(_text_widget(widget))
        else:
            values = [[_value(metric, step, folder_of) for step in run_result.steps] for metric in widget.metrics]
            parts.append(_metric_widget(widget, values))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" {FONT} font-size="11">\n' + "\n".join(parts) + "\n</svg>\n"
    )


def _tag(name: str, text: str | None = None, **attributes: str | float) -> str:
    """One SVG element; ``font_size`` is written ``font-size``; floats to a tenth of a pixel."""
    written = " ".join(
        f'{key.replace("_", "-")}="{f"{value:.1f}" if isinstance(value, float) else value}"'
        for key, value in attributes.items()
    )
    return f"<{name} {written}/>" if text is None else f"<{name} {written}>{escape(text)}</{name}>"


def _header(steps: int) -> list[str]:
    events = (
        f"password-guessing attack in steps {ATTACK_STEPS[0] + 1}-{ATTACK_STEPS[-1] + 1}, "
        f"refresh token replayed in step {REUSE_STEP + 1}, SES refusing in step {SES_OUTAGE_STEP + 1}"
    )
    lines = (
        "CloudWatch dashboard OperationsDashboard (template.yaml), drawn by tools/render_dashboard.py",
        f"Values: a local run of the real handlers (tools/dashboard_traffic.py, moto), {steps} steps standing "
        f"for 5-minute periods: {events}.",
        "Durations are this machine's in-process timings, not Lambda's; "
        "API answers are those the handlers and the authorizer gave.",
    )
    title = _tag("text", lines[0], x=PADDING, y=22, font_size=15, font_weight="bold")
    return [title, *(_tag("text", line, x=PADDING, y=40 + 16 * index) for index, line in enumerate(lines[1:]))]


def _box(widget: Widget) -> tuple[int, int, int, int]:
    x, y = widget.x * COLUMN, HEADER + widget.y * ROW
    return x + 4, y + 4, widget.width * COLUMN - 8, widget.height * ROW - 8


def _frame(x: int, y: int, width: int, height: int) -> str:
    return _tag("rect", x=x, y=y, width=width, height=height, fill="#fff", stroke="#d5dbdb")


def _text_widget(widget: Widget) -> str:
    x, y, w, h = _box(widget)
    heading, *rest = [line.removeprefix("## ").replace("*", "") for line in widget.markdown.splitlines()]
    parts = [_frame(x, y, w, h), _tag("text", heading, x=x + PADDING, y=y + 20, font_size=13, font_weight="bold")]
    parts += [_tag("text", line, x=x + PADDING, y=y + 36 + 16 * index) for index, line in enumerate(rest)]
    return "<g>" + "".join(parts) + "</g>"


def _metric_widget(widget: Widget, series: list[Series]) -> str:
    x, y, w, h = _box(widget)
    plot_left, plot_top = x + 40, y + 28
    plot_width = w - 40 - PADDING
    plot_height = h - 28 - 26 - _legend_rows(widget, w) * LEGEND_LINE - 6
    top = _nice_ceiling(max((value for line in series for value in line if value is not None), default=0.0))
    count = len(series[0]) if series else 0

    def point(index: int, value: float) -> tuple[float, float]:
        return (
            plot_left + plot_width * (index / max(count - 1, 1)),
            plot_top + plot_height * (1 - value / top),
        )

    parts = [_frame(x, y, w, h), _tag("text", widget.title, x=x + PADDING, y=y + 18, font_size=13, font_weight="bold")]
    for fraction in (0.0, 0.5, 1.0):
        level_y = float(point(0, top * fraction)[1])
        parts.append(_tag("line", x1=plot_left, y1=level_y, x2=plot_left + plot_width, y2=level_y, stroke="#eaeded"))
        parts.append(
            _tag("text", _number(top * fraction), x=plot_left - 4, y=level_y + 4, text_anchor="end", fill="#687078")
        )
    for index in range(count):
        tick = str(index + 1)
        parts.append(
            _tag(
                "text", tick, x=point(index, 0)[0], y=plot_top + plot_height + 13, text_anchor="middle", fill="#687078"
            )
        )
    for label, level in widget.thresholds:
        if level <= top:
            level_y = point(0, level)[1]
            right = plot_left + plot_width
            parts.append(
                _tag("line", x1=plot_left, y1=level_y, x2=right, y2=level_y, stroke=ALARM, stroke_dasharray="4 3")
            )
            caption = f"{label}: {_number(level)}"
            parts.append(_tag("text", caption, x=right, y=level_y - 3, text_anchor="end", fill=ALARM))
    for number, line in enumerate(series):
        parts.extend(
            _polyline(
                [point(i, v) if v is not None else None for i, v in enumerate(line)], PALETTE[number % len(PALETTE)]
            )
        )
    parts.append(_legend(widget, series, x + PADDING, plot_top + plot_height + 30, w - 2 * PADDING, top))
    return "<g>" + "".join(parts) + "</g>"


def _polyline(points: list[tuple[float, float] | None], colour: str) -> list[str]:
    """One polyline per run of points with values; a lone point as a dot."""
    segments: list[list[tuple[float, float]]] = [[]]
    for found in points:
        if found is None:
            segments.append([])
        else:
            segments[-1].append(found)
    drawn = []
    for segment in segments:
        if len(segment) == 1:
            drawn.append(_tag("circle", cx=segment[0][0], cy=segment[0][1], r=2, fill=colour))
        elif segment:
            coordinates = " ".join(f"{px:.1f},{py:.1f}" for px, py in segment)
            drawn.append(_tag("polyline", points=coordinates, fill="none", stroke=colour, stroke_width=1.6))
    return drawn


def _legend_columns(widget: Widget, width: int) -> int:
    return max(1, min(len(widget.metrics), width // 170))


def _legend_rows(widget: Widget, width: int) -> int:
    return math.ceil(len(widget.metrics) / _legend_columns(widget, width)) + (1 if widget.thresholds else 0)


def _legend(widget: Widget, series: list[Series], x: int, y: float, width: int, top: float) -> str:
    """A square of each line's colour and its label (greyed, "not called": no value in the run);
    then the alarm lines, or those above the graph's scale."""
    columns = _legend_columns(widget, width)
    column_width = width / columns
    parts = []
    for number, (metric, line) in enumerate(zip(widget.metrics, series, strict=True)):
        left, line_y = x + (number % columns) * column_width, y + (number // columns) * LEGEND_LINE
        called = any(value is not None for value in line)
        label = metric.label if called else f"{metric.label} (not called)"
        parts.append(_tag("rect", x=left, y=line_y - 8, width=9, height=9, fill=PALETTE[number % len(PALETTE)]))
        parts.append(_tag("text", label, x=left + 13, y=line_y, fill="#16191f" if called else "#879596"))
    if widget.thresholds:
        above = [f"{label} {_number(level)}" for label, level in widget.thresholds if level > top]
        shown = "alarm line above this scale: " + ", ".join(above) if above else "dashed: alarm threshold"
        line_y = y + math.ceil(len(widget.metrics) / columns) * LEGEND_LINE
        parts.append(_tag("text", shown, x=x, y=line_y, fill=ALARM))
    return "".join(parts)


def _value(metric: Metric, step: Step, folder_of: dict[str, str]) -> float | None:
    """What CloudWatch would plot for ``metric`` in ``step`` (None: no data point)."""
    dimensions = dict(metric.dimensions)
    if metric.namespace == "AWS/Lambda":
        folder = folder_of[dimensions["FunctionName"]]
        durations = step.durations.get(folder)
        if durations is None:
            return None
        if metric.name == "Errors":
            return float(step.errors[folder])
        return _percentile(durations, float(metric.stat.removeprefix("p")))
    if metric.namespace == "AWS/ApiGateway":
        return float(step.api[metric.name])
    return float(step.emf[metric.key])


def _percentile(values: list[float], percent: float) -> float:
    """Nearest rank, as CloudWatch's percentiles of few samples are."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def _nice_ceiling(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at or above ``value`` (1 for an empty graph)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _number(value: float) -> str:
    return f"{value:g}" if value < 10 else f"{value:.0f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    arguments.output.write_text(render(run()))
    print(f"wrote {arguments.output}")


if __name__ == "__main__":
    main()
