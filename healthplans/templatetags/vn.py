"""Numbers on pages the Vietnamese way: "94,15", "1.248.643", "14.676.220.000"."""

from decimal import Decimal

from django import template

from healthplans.formatting import written
from healthplans.vnnumber import COMPARATOR_SYMBOLS, format_money

register = template.Library()


@register.filter
def vn_number(value: Decimal | int | None) -> str:
    return written(None if value is None else Decimal(value))


@register.filter
def vn_money(value: int | None) -> str:
    return "" if value is None else format_money(value)


@register.filter
def comparator_symbol(value: str) -> str:
    return COMPARATOR_SYMBOLS.get(value, value)
