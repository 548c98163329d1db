"""Small charts drawn on the server as inline SVG: no script, no external file, no CDN.

Geometry is computed with Decimal like the figures themselves and written with one decimal
place; every text goes through escaping. Each chart is a self-contained <svg> element that is
also a valid XML document on its own.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from healthplans.formatting import rounded, written

register = template.Library()

SVG_NS = "http://www.w3.org/2000/svg"
LINE = "#0b5394"
TARGET = "#b45309"
AXIS = "#c7cdd6"
TRACK = "#e6eaf0"
STATUS_FILL = {"met": "#2e7d32", "not_met": "#c62828", "no_data": "#9aa3ad", "no_target": "#5c6b7a"}


@dataclass(frozen=True)
class Bar:
    """One bar of a ranked comparison: its label, value and status (met, not_met, …)."""

    label: str
    value: Decimal
    status: str


def _n(value: Decimal) -> str:
    """A coordinate with one decimal place, as SVG reads it."""
    return f"{value.quantize(Decimal('0.1')):f}"


def _figure(value: Decimal, places: int | None = None) -> str:
    """A figure rounded to the indicator's places, without the zeros rounding leaves."""
    return written(value if places is None else rounded(value, places))


def _svg(width: int, height: int, label: str, body: list[str], css_class: str) -> SafeString:
    # Every text in `body` and `label` is escaped; every number is formatted here.
    return mark_safe(  # noqa: S308
        f'<svg xmlns="{SVG_NS}" class="chart {css_class}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _scale(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """A value range covering `values` with some air, never empty."""
    lowest, highest = min(values), max(values)
    pad = (highest - lowest) / 10 or abs(lowest) / 10 or Decimal(1)
    return lowest - pad, highest + pad


def trend_svg(
    trend: Sequence[tuple[str, Decimal | None]],
    target: Decimal | None = None,
    *,
    places: int | None = None,
    width: int = 140,
    height: int = 36,
) -> SafeString:
    """A sparkline over the plan's periods: one point per period with a figure, the target dashed."""
    margin = Decimal(4)
    values = [value for _code, value in trend if value is not None]
    label = _("Trend over the plan's periods")
    if not values:
        # A target line alone says nothing about a trend; keep the cell quiet.
        return _svg(width, height, label, [], "trend-chart empty")
    low, high = _scale([*values, *([target] if target is not None else [])])
    inner_w, inner_h = Decimal(width) - 2 * margin, Decimal(height) - 2 * margin
    step = inner_w / (len(trend) - 1) if len(trend) > 1 else Decimal(0)

    def x(index: int) -> Decimal:
        return margin + (step * index if len(trend) > 1 else inner_w / 2)

    def y(value: Decimal) -> Decimal:
        return margin + inner_h - (value - low) / (high - low) * inner_h

    body = [
        f'<line class="axis" x1="{_n(margin)}" y1="{_n(margin + inner_h)}" x2="{_n(margin + inner_w)}" '
        f'y2="{_n(margin + inner_h)}" stroke="{AXIS}" stroke-width="1"/>'
    ]
    if target is not None:
        body.append(
            f'<line class="target" x1="{_n(margin)}" y1="{_n(y(target))}" x2="{_n(margin + inner_w)}" '
            f'y2="{_n(y(target))}" stroke="{TARGET}" stroke-width="1" stroke-dasharray="3 2">'
            f"<title>{escape(_('Target'))}: {escape(_figure(target))}</title></line>"
        )
    points = [(x(i), y(value), code, value) for i, (code, value) in enumerate(trend) if value is not None]
    if points:
        coordinates = " ".join(f"{_n(px)},{_n(py)}" for px, py, _code, _value in points)
        body.append(
            f'<polyline class="trend" points="{coordinates}" fill="none" stroke="{LINE}" stroke-width="1.5" '
            f'stroke-linejoin="round"/>'
        )
        body += [
            f'<circle cx="{_n(px)}" cy="{_n(py)}" r="2" fill="{LINE}">'
            f"<title>{escape(code)}: {escape(_figure(value, places))}</title></circle>"
            for px, py, code, value in points
        ]
    return _svg(width, height, label, body, "trend-chart")


def progress_svg(progress: Decimal | None, *, width: int = 100, height: int = 10) -> SafeString:
    """A horizontal bar of the way from baseline to target, clamped to 0–100 %."""
    label = _("Progress towards the target")
    body = [f'<rect class="track" x="0" y="0" width="{width}" height="{height}" rx="2" fill="{TRACK}"/>']
    if progress is not None:
        share = min(max(progress, Decimal(0)), Decimal(100))
        fill = STATUS_FILL["met"] if progress >= 100 else LINE
        body.append(
            f'<rect class="done" x="0" y="0" width="{_n(Decimal(width) * share / 100)}" height="{height}" '
            f'rx="2" fill="{fill}"/>'
        )
        label = f"{label}: {_figure(progress)} %"
    return _svg(width, height, label, body, "progress-chart")


def ranking_svg(
    bars: Sequence[Bar],
    target: Decimal | None = None,
    *,
    places: int | None = None,
    width: int = 640,
    bar_height: int = 18,
) -> SafeString:
    """Bars of a ranked comparison, best first as given, with the target as a dashed vertical line."""
    label_w, value_w, gap, top = Decimal(220), Decimal(70), Decimal(6), Decimal(4)
    height = int(top * 2 + (bar_height + gap) * len(bars)) if bars else bar_height
    title = _("Comparison of the reporting units")
    if not bars:
        return _svg(width, height, title, [], "ranking-chart empty")
    values = [bar.value for bar in bars] + ([target] if target is not None else [])
    low, high = min(Decimal(0), *values), max(Decimal(0), *values)
    if high == low:
        high = low + 1
    area = Decimal(width) - label_w - value_w

    def x(value: Decimal) -> Decimal:
        return label_w + (value - low) / (high - low) * area

    body = []
    for index, bar in enumerate(bars):
        row_y = top + (bar_height + gap) * index
        start, end = sorted((x(Decimal(0)), x(bar.value)))
        text_y = row_y + Decimal(bar_height) * Decimal("0.7")
        body.append(
            f'<g class="bar status-{escape(bar.status)}">'
            f'<text x="{_n(label_w - gap)}" y="{_n(text_y)}" text-anchor="end" font-size="12">'
            f"{escape(bar.label)}</text>"
            f'<rect x="{_n(start)}" y="{_n(row_y)}" width="{_n(max(end - start, Decimal("0.5")))}" '
            f'height="{bar_height}" fill="{STATUS_FILL.get(bar.status, LINE)}"/>'
            f'<text x="{_n(end + gap)}" y="{_n(text_y)}" font-size="12">{escape(_figure(bar.value, places))}</text>'
            f"</g>"
        )
    if target is not None:
        body.append(
            f'<line class="target" x1="{_n(x(target))}" y1="0" x2="{_n(x(target))}" y2="{height}" '
            f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="4 3">'
            f"<title>{escape(_('Target'))}: {escape(_figure(target))}</title></line>"
        )
    return _svg(width, height, title, body, "ranking-chart")


@register.simple_tag
def trend_chart(
    trend: Sequence[tuple[str, Decimal | None]], target: Decimal | None = None, places: int | None = None
) -> SafeString:
    return trend_svg(trend, target, places=places)


@register.simple_tag
def progress_bar(progress: Decimal | None) -> SafeString:
    return progress_svg(progress)


@register.simple_tag
def ranking_chart(bars: Sequence[Bar], target: Decimal | None = None, places: int | None = None) -> SafeString:
    return ranking_svg(bars, target, places=places)
