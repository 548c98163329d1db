"""Forms of the figures pages. Numbers are typed and shown the Vietnamese way ("96,5", "1.381")."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from healthplans.vnnumber import NumberTextError, format_number, parse_number

# Actual values are stored as DecimalField(max_digits=24, decimal_places=6).
MAX_DECIMAL_PLACES = 6
MAX_WHOLE_DIGITS = 18


def figure_text(value: Decimal | None) -> str:
    """A stored value as the user types it: 96.500000 → "96,5", 1381 → "1.381"."""
    if value is None:
        return ""
    return format_number(value.normalize())


def parse_figure_text(text: str) -> Decimal | None:
    """The number a user typed, or None for an empty field; a ValidationError in their language."""
    text = text.strip()
    if not text:
        return None
    try:
        value = parse_number(text)
    except NumberTextError as exc:
        # The parser's messages are Vietnamese templates, translated like any other msgid.
        raise ValidationError(gettext(exc.template).format(text=exc.text), code="unreadable") from exc
    _sign, digits, exponent = value.as_tuple()
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > MAX_DECIMAL_PLACES:
        raise ValidationError(
            gettext("Write at most %(places)s digits after the decimal comma.") % {"places": MAX_DECIMAL_PLACES},
            code="too_precise",
        )
    if len(digits) - places > MAX_WHOLE_DIGITS:
        raise ValidationError(gettext("This number is too large."), code="too_large")
    return value


class FigureRowForm(forms.Form):
    """One indicator's row of a station's period form; its prefix names the indicator."""

    value = forms.CharField(
        label=_("Value"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 9, "class": "figure"}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 22, "class": "note"}),
    )
    # The version the user read: a save over a value changed since then is refused, not lost.
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_value(self) -> Decimal | None:
        return parse_figure_text(self.cleaned_data.get("value") or "")

    def clean_note(self) -> str:
        return str(self.cleaned_data.get("note") or "").strip()
