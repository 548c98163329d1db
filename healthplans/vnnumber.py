"""Read and write figures the way Vietnamese plan documents write them.

Standard library only, so fixture writers can import it without Django.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

# Untranslated message templates; the Django layer passes ``NumberTextError.template``
# through gettext and formats it with ``text``.
NUMBER_ERROR = "Không đọc được số: «{text}»"
FIGURE_ERROR = "Không đọc được số liệu: «{text}»"
MONEY_ERROR = "Không đọc được số tiền: «{text}»"
FRACTIONAL_MONEY_ERROR = "Số tiền phải là số đồng nguyên: «{text}»"
NEGATIVE_MONEY_ERROR = "Số tiền không được âm: «{text}»"

COMPARATOR_SYMBOLS = {">": ">", ">=": "≥", "<": "<", "<=": "≤", "=": "="}

_SYMBOL_COMPARATORS = {
    ">=": ">=",
    "<=": "<=",
    "≥": ">=",
    "≧": ">=",
    "≤": "<=",
    "≦": "<=",
    ">": ">",
    "<": "<",
    "=": "=",
}
_PROSE_COMPARATORS = {
    "trên": ">",
    "dưới": "<",
    "tối thiểu": ">=",
    "ít nhất": ">=",
    "không dưới": ">=",
    "tối đa": "<=",
    "không quá": "<=",
    "không vượt quá": "<=",
}
_SUFFIX_COMPARATORS = {"trở lên": ">=", "trở xuống": "<="}
# "còn" ("down to") alone states the ceiling of a falling indicator.
_FALLING_LEAD = "còn"
# "từ 80% trở lên": "từ" only opens a "trở lên"/"trở xuống" bound.
_RANGE_LEAD = "từ"

_MONEY_SCALES = {"nghìn": 3, "ngàn": 3, "triệu": 6, "tỷ": 9, "tỉ": 9}

# "," is the decimal mark and "." groups thousands in threes. A grouped number
# cannot start with 0: "0.500" is an English decimal, not five hundred.
_DIGITS = r"(?:[1-9][0-9]{0,2}(?:\.[0-9]{3})+|[0-9]+)"
_NUMBER = rf"[-−]?{_DIGITS}(?:,[0-9]+)?"
_LETTER = r"[^\W\d_]"
# A unit hint: words, %, ‰ and "/"-joined parts such as "trẻ nam/100 trẻ nữ"
# or "/vạn dân"; digits only as the count right after a "/".
_UNIT_PART = rf"(?:{_LETTER}|[%‰\s])*"
_UNIT = rf"{_UNIT_PART}(?:/\s*(?:{_DIGITS}\s*)?(?={_LETTER}){_UNIT_PART})*"


def _alternation(words: Iterable[str]) -> str:
    # Longest first, so ">=5" is not read as ">" followed by "=5".
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


_NUMBER_RE = re.compile(_NUMBER)
_FIGURE_RE = re.compile(
    rf"(?:(?P<lead>đạt|là|{_FALLING_LEAD}|{_RANGE_LEAD})\s*)?"
    rf"(?:(?P<prose>{_alternation(_PROSE_COMPARATORS)})\s*"
    rf"|(?P<symbol>{_alternation(_SYMBOL_COMPARATORS)})\s*)?"
    rf"(?P<value>{_NUMBER})"
    rf"(?:\s*/\s*(?P<denominator>{_DIGITS}(?:,[0-9]+)?))?"
    rf"\s*(?P<unit>{_UNIT})",
    re.IGNORECASE,
)
_SUFFIX_RE = re.compile(rf"\b(?P<suffix>{_alternation(_SUFFIX_COMPARATORS)})$", re.IGNORECASE)
_MONEY_RE = re.compile(
    rf"(?P<value>{_NUMBER})\s*(?P<scale>{_alternation(_MONEY_SCALES)})?"
    r"\s*(?:đồng|vnđ|vnd|đ)?",
    re.IGNORECASE,
)


class NumberTextError(ValueError):
    """A text that is not a figure; the message quotes the text."""

    def __init__(self, text: str, template: str) -> None:
        self.text = text
        self.template = template
        super().__init__(template.format(text=text))

    def __reduce__(self) -> tuple[type["NumberTextError"], tuple[str, str]]:
        # The default pickling replays only the message and would fail in __init__.
        return type(self), (self.text, self.template)


@dataclass(frozen=True)
class Figure:
    """A target or baseline as written: ``trên 96,5%`` is ``(">", 96.5, "%")``."""

    comparator: str | None
    value: Decimal
    unit: str
    denominator: Decimal | None = None


def _normalise(text: str) -> str:
    # Documents mix composed and decomposed diacritics and non-breaking spaces.
    return " ".join(unicodedata.normalize("NFC", text).split())


def _to_decimal(number: str) -> Decimal:
    return Decimal(number.replace("−", "-").replace(".", "").replace(",", "."))


def parse_number(text: str) -> Decimal:
    """Read a Vietnamese number ("1.248.643", "94,15"), keeping its decimal places."""
    match = _NUMBER_RE.fullmatch(_normalise(text))
    if match is None:
        raise NumberTextError(text, NUMBER_ERROR)
    return _to_decimal(match.group())


def parse_figure(text: str) -> Figure:
    """Read a target or baseline cell such as "≥80%", "còn dưới 9,98%" or "17/17"."""
    match = _FIGURE_RE.fullmatch(_normalise(text))
    if match is None:
        raise NumberTextError(text, FIGURE_ERROR)
    lead = (match["lead"] or "").lower()
    if match["prose"]:
        comparator: str | None = _PROSE_COMPARATORS[match["prose"].lower()]
    elif match["symbol"]:
        comparator = _SYMBOL_COMPARATORS[match["symbol"]]
    else:
        comparator = None

    unit = match["unit"].strip()
    suffix = _SUFFIX_RE.search(unit)
    if suffix is not None:
        if comparator is not None:
            raise NumberTextError(text, FIGURE_ERROR)
        comparator = _SUFFIX_COMPARATORS[suffix["suffix"].lower()]
        unit = unit[: suffix.start()].strip()
    elif lead == _RANGE_LEAD:
        raise NumberTextError(text, FIGURE_ERROR)
    if comparator is None and lead == _FALLING_LEAD:
        comparator = "<="

    denominator = None
    if match["denominator"] is not None:
        denominator = _to_decimal(match["denominator"])
        if not denominator:
            raise NumberTextError(text, FIGURE_ERROR)
    return Figure(comparator, _to_decimal(match["value"]), unit, denominator)


def parse_money(text: str) -> int:
    """Read an amount of đồng: "14.676.220.000 đồng", "2,5 tỷ VNĐ", "300 triệu"."""
    match = _MONEY_RE.fullmatch(_normalise(text))
    if match is None:
        raise NumberTextError(text, MONEY_ERROR)
    value = _to_decimal(match["value"])
    if value < 0:
        raise NumberTextError(text, NEGATIVE_MONEY_ERROR)
    # Exact integer arithmetic: "2,5 tỷ" is 2.5 × 10⁹ with no rounding anywhere.
    numerator, denominator = value.as_integer_ratio()
    if match["scale"]:
        numerator *= 10 ** _MONEY_SCALES[match["scale"].lower()]
    if numerator % denominator:
        raise NumberTextError(text, FRACTIONAL_MONEY_ERROR)
    return numerator // denominator


def format_number(value: Decimal, places: int | None = None) -> str:
    """Write ``value`` the Vietnamese way; ``places`` rounds half up, else keep its own."""
    if not value.is_finite():
        raise ValueError(f"Cannot format {value}")
    if places is not None:
        # Official statistics round half up; size the precision so large values fit.
        context = Context(prec=max(value.adjusted() + places + 2, 1), rounding=ROUND_HALF_UP)
        value = value.quantize(Decimal(1).scaleb(-places), context=context)
    whole, _, fraction = f"{value.copy_abs():f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    # A value rounded to zero is written "0", not "-0".
    sign = "-" if value < 0 else ""
    return f"{sign}{grouped},{fraction}" if fraction else f"{sign}{grouped}"


def format_money(amount: int) -> str:
    """Write whole đồng with "." grouping: 14676220000 → "14.676.220.000"."""
    return format_number(Decimal(amount))
