"""Figures and periods as people read them, the same on the pages and in the PDF reports.

Numbers are written the Vietnamese way by `healthplans.vnnumber`; this module decides which
digits a figure shows and how a period, a comparison and a target are worded.
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol, overload

from django.utils.translation import gettext as _

from healthplans.periods import Period, parse_period
from healthplans.vnnumber import COMPARATOR_SYMBOLS, format_number

# Figures keep as many decimal places as the document writes its targets and baseline with (a
# target of "< 0,05 %" needs two), at least one for rates, never the six of a pooled quotient.
MAX_PLACES = 3


class Compared(Protocol):
    """A target or a baseline: a value with the comparator the document writes before it."""

    comparator: str
    value: Decimal


def period_label(period: Period) -> str:
    """ "năm 2024", "6 tháng đầu năm 2024", "giai đoạn 2026-2030"."""
    year = period.start.year
    if period.kind == "half_year":
        if period.code.endswith("H1"):
            return _("first half of %(year)s") % {"year": year}
        return _("second half of %(year)s") % {"year": year}
    if period.kind == "five_year":
        # A hyphen, as the plans' documents write their periods.
        return _("period %(start)s-%(end)s") % {"start": year, "end": period.end.year}
    return _("year %(year)s") % {"year": year}


def short_period_label(code: str) -> str:
    """A period in a table column or under a chart's bar: "6T đầu 2024", "2025"."""
    period = parse_period(code)
    if period.kind == "half_year":
        if code.endswith("H1"):
            return _("H1 %(year)s") % {"year": period.start.year}
        return _("H2 %(year)s") % {"year": period.start.year}
    return period.code


def decimal_places(values: list[Decimal]) -> int:
    """The places to show figures compared with `values` (targets, baseline) with."""
    exponents = [value.normalize().as_tuple().exponent for value in values]
    decimals = [-exponent for exponent in exponents if isinstance(exponent, int)]
    return min(max([1, *decimals]), MAX_PLACES)


@overload
def rounded(value: Decimal, places: int) -> Decimal: ...
@overload
def rounded(value: None, places: int) -> None: ...
def rounded(value: Decimal | None, places: int) -> Decimal | None:
    """Half up, as official statistics round."""
    return None if value is None else value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def shown(value: Decimal | None, places: int) -> str:
    """A measured figure rounded half up to `places`; blank when there is none."""
    return "" if value is None else format_number(value, places)


def written(value: Decimal | None) -> str:
    """A value as a person writes it: its own decimal places, no trailing zeros (96.500000 →
    "96,5", 1381 → "1.381"); blank when there is none."""
    return "" if value is None else format_number(value.normalize())


def compared_text(compared: Compared | None) -> str:
    """A target or baseline as the document writes it, "≥ 95" (a no-break space keeps the two
    together), or the bare value where no comparator is written."""
    if compared is None:
        return ""
    symbol = COMPARATOR_SYMBOLS.get(compared.comparator, compared.comparator)
    return f"{symbol}\u00a0{written(compared.value)}" if symbol else written(compared.value)
