"""The report's small bar charts (baseline and each period's figure, targets as dashes), drawn
as inline SVG by the PDF template from the geometry computed here."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import pgettext

from healthplans.formatting import compared_text, short_period_label, shown, written
from healthplans.models import OrgUnit
from healthplans.periods import Period, parse_period
from indicators.models import Target
from indicators.progress import IndicatorProgress
from reporting.formatting import figure_places, unit_of


@dataclass(frozen=True)
class ChartBar:
    """One bar; coordinates are preformatted so that no locale ever writes "12,5" into the SVG."""

    x: str
    y: str
    width: str
    height: str
    cx: str
    value_y: str
    value_inside: bool
    label: str
    value: str
    kind: str  # baseline, actual, provisional


@dataclass(frozen=True)
class ChartMark:
    x1: str
    x2: str
    y: str


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    bars: list[ChartBar]
    targets: list[ChartMark]
    target_text: str
    width: int
    height: int
    base_y: str
    label_y: str
    legend_y: str


def _coordinate(value: float) -> str:
    return f"{value:.2f}"


def chart_of(item: IndicatorProgress, period: Period, unit: OrgUnit) -> Chart:
    """Bars of the baseline and of each period up to the reported one, the targets as dashes."""
    indicator = item.indicator
    places = figure_places(indicator)
    points: list[tuple[str, Decimal, str, Target | None]] = []
    baseline = getattr(indicator, "baseline", None)
    if baseline is not None:
        label = pgettext("report", "Baseline %(year)s") % {"year": baseline.year}
        points.append((label, baseline.value, "baseline", None))
    for code, value in item.trend:
        if value is None or parse_period(code).end > period.end:
            continue
        kind = "provisional" if code == period.code and item.actual.provisional else "actual"
        points.append(
            (short_period_label(code), value, kind, indicator.target_for(parse_period(code).target_year, unit))
        )
    if not any(kind != "baseline" for _label, _value, kind, _target in points) and item.actual.value is not None:
        points.append((short_period_label(period.code), item.actual.value, "actual", item.target))
    values = [value for _label, value, _kind, _target in points]
    values += [target.value for _label, _value, _kind, target in points if target is not None]
    top = max([*values, Decimal(0)])
    top = top if top > 0 else Decimal(1)
    width, height, left, bottom, headroom = 240, 132, 6, 34, 14
    slot = (width - 2 * left) / max(len(points), 1)
    bar_width = min(slot * 0.6, 36)
    plot = height - bottom - headroom
    base_y = height - bottom
    bars, marks = [], []
    for index, (label, value, kind, target) in enumerate(points):
        x = left + slot * index + (slot - bar_width) / 2
        bar_height = float(max(value, Decimal(0)) / top) * plot
        text = written(value) if kind == "baseline" else shown(value, places)
        bars.append(
            ChartBar(
                x=_coordinate(x),
                y=_coordinate(base_y - bar_height),
                width=_coordinate(bar_width),
                height=_coordinate(bar_height),
                cx=_coordinate(x + bar_width / 2),
                # Inside the top of a tall bar, so that a target dash near it never covers it.
                value_y=_coordinate(base_y - bar_height + 10 if bar_height > 14 else base_y - bar_height - 3),
                value_inside=bar_height > 14,
                label=label,
                value=text,
                kind=kind,
            )
        )
        if target is not None:
            y = base_y - float(max(target.value, Decimal(0)) / top) * plot
            marks.append(ChartMark(_coordinate(x - 4), _coordinate(x + bar_width + 4), _coordinate(y)))
    return Chart(
        title=indicator.name,
        unit=unit_of(indicator),
        bars=bars,
        targets=marks,
        target_text=compared_text(item.target),
        width=width,
        height=height,
        base_y=_coordinate(base_y),
        label_y=_coordinate(base_y + 11),
        legend_y=_coordinate(height - 4),
    )
