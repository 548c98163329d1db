from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from healthplans.periods import Period

# The planner's sections in the order of a Vietnamese progress report.
NARRATIVE_LABELS = {
    "achievements": _("Results achieved"),
    "shortcomings": _("Shortcomings and limitations"),
    "causes": _("Causes"),
    "directions": _("Directions and tasks ahead"),
    "recommendations": _("Recommendations"),
}


class ReportRequestForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"))

    def __init__(self, *args: Any, periods: list[tuple[Period, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [(period.code, label) for period, label in periods]  # type: ignore[attr-defined]


class NarrativeForm(forms.Form):
    document_number = forms.CharField(
        label=_("Document number"),
        max_length=100,
        required=False,
        help_text=_("As it appears after “Số:”, e.g. 125/BC-UBND."),
    )
    achievements = forms.CharField(label=NARRATIVE_LABELS["achievements"], required=False, widget=forms.Textarea)
    shortcomings = forms.CharField(label=NARRATIVE_LABELS["shortcomings"], required=False, widget=forms.Textarea)
    causes = forms.CharField(label=NARRATIVE_LABELS["causes"], required=False, widget=forms.Textarea)
    directions = forms.CharField(label=NARRATIVE_LABELS["directions"], required=False, widget=forms.Textarea)
    recommendations = forms.CharField(label=NARRATIVE_LABELS["recommendations"], required=False, widget=forms.Textarea)

    def narrative(self) -> dict[str, str]:
        return {key: self.cleaned_data[key] for key in NARRATIVE_LABELS}


class SignForm(forms.Form):
    """The official's confirmation of "Ký số và phát hành"; with a PKCS#11 token, the token's PIN,
    which goes to the signer and is never stored."""

    pin = forms.CharField(label=_("Token PIN"), max_length=64, strip=False, widget=forms.PasswordInput)

    def __init__(self, *args: Any, with_pin: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_pin:
            del self.fields["pin"]


class VerifyForm(forms.Form):
    file = forms.FileField(label=_("Signed PDF"), widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}))
