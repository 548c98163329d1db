"""The plan builder's forms: what a planner types, as the document writes it. They only read and
check the input; the builder's services (plans.services, indicators.definitions, budgets.lines)
write. Choices are limited to what the planner may name: the plan's own sections, indicators and
lines, its province's agencies, the units of its area within the planner's reach."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from budgets.models import BudgetLine, FundingSource
from healthplans.models import Agency, OrgUnit
from indicators.models import CatalogueMeasure, Direction, EntryLevel, Group, Indicator, Rollup, UnitKind, ValueType
from plans.models import Assignment, Objective, Plan, Section


def year_field(label: Any, *, required: bool = True) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=1900, max_value=2200, required=required)


class LinesField(forms.CharField):
    """A list typed one item a line (the legal bases, the distribution list)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return [line.strip() for line in str(value or "").splitlines() if line.strip()]

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value


class PlanForm(forms.Form):
    issuer_org_unit = forms.ModelChoiceField(queryset=OrgUnit.objects.none(), label=_("Issuing unit"))
    title = forms.CharField(label=_("Title"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(label=_("Kind"), choices=Plan.Kind.choices, initial=Plan.Kind.PLAN)
    issuer = forms.CharField(label=_("Issuer"), max_length=300, required=False)
    issuer_parent = forms.CharField(label=_("Issuing body above the issuer"), max_length=300, required=False)
    document_number = forms.CharField(label=_("Number and symbol"), max_length=100, required=False)
    place = forms.CharField(label=_("Place"), max_length=100, required=False)
    issued_on = forms.DateField(label=_("Issued on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    start_year = year_field(_("Start year"))
    end_year = year_field(_("End year"))
    vision_year = year_field(_("Vision year"), required=False)
    signer_name = forms.CharField(label=_("Signer"), max_length=200, required=False)
    signer_title = forms.CharField(label=_("Signer's title"), max_length=200, required=False)
    legal_bases = LinesField(label=_("Legal bases (one a line)"), required=False)
    recipients = LinesField(label=_("Distribution list (one a line)"), required=False)
    reporting_frequencies = forms.MultipleChoiceField(
        label=_("Reporting frequencies"),
        choices=Plan.Frequency.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    frequency_text = forms.CharField(label=_("Reporting frequency as written"), max_length=200, required=False)
    parent = forms.ModelChoiceField(queryset=Plan.objects.none(), label=_("Implements the plan"), required=False)

    def __init__(self, *args: Any, units: Any, plans: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        with_choices(self, {"units": units, "plans": plans})

    def plan_fields(self) -> dict[str, Any]:
        """The services' fields: what was typed, without the issuing unit; an empty issuer is the unit's."""
        fields = {name: value for name, value in self.cleaned_data.items() if name != "issuer_org_unit"}
        if not fields["issuer"]:
            del fields["issuer"]
        return fields


class ObjectiveForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Objective.Kind.choices)
    text = forms.CharField(label=_("Text"), max_length=10000, widget=forms.Textarea(attrs={"rows": 2}))


class SectionForm(forms.Form):
    number = forms.CharField(label=_("Number"), max_length=20)
    title = forms.CharField(label=_("Title"), max_length=10000)


class TaskForm(forms.Form):
    section = forms.ModelChoiceField(queryset=Section.objects.none(), label=_("Section"))
    text = forms.CharField(label=_("Task"), max_length=10000)
    lead = forms.ModelChoiceField(queryset=Agency.objects.none(), label=_("Lead agency"), required=False)
    amount_text = forms.CharField(label=_("Amount as written"), max_length=100, required=False)


class AgencyForm(forms.Form):
    name = forms.CharField(label=_("Agency (pick or type a new one)"), max_length=300)
    kind = forms.ChoiceField(label=_("Kind"), choices=Agency.Kind.choices, initial=Agency.Kind.OTHER)


class AssignmentForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=Agency.objects.none(), label=_("Agency"))
    role = forms.ChoiceField(label=_("Role"), choices=Assignment.Role.choices)
    text = forms.CharField(label=_("Responsibility"), max_length=10000, widget=forms.Textarea(attrs={"rows": 2}))


class IndicatorForm(forms.Form):
    number = forms.CharField(label=_("Number"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=5000)
    unit = forms.CharField(label=_("Unit as written"), max_length=100, required=False)
    unit_kind = forms.ChoiceField(
        label=_("Unit kind"), choices=[("", _("from the unit")), *UnitKind.choices], required=False
    )
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices, initial=Direction.HIGHER)
    rollup = forms.ChoiceField(label=_("Roll-up"), choices=[("", _("from the unit")), *Rollup.choices], required=False)
    entry_level = forms.ChoiceField(
        label=_("Entered at level"), choices=[("", _("the issuing unit's")), *EntryLevel.choices], required=False
    )
    group = forms.ChoiceField(label=_("Group"), choices=[("", "—"), *Group.choices], required=False)
    catalogue = forms.ModelChoiceField(
        queryset=CatalogueMeasure.objects.all(), label=_("Catalogue measure"), required=False
    )
    value_type = forms.ChoiceField(label=_("Value type"), choices=ValueType.choices, initial=ValueType.NUMBER)


class FigureTextForm(forms.Form):
    """A baseline or a target of an indicator, as written ("≥80%", "còn dưới 9,98%", "Đạt")."""

    indicator = forms.ModelChoiceField(queryset=Indicator.objects.none(), label=_("Indicator"))
    year = year_field(_("Year"))
    org_unit = forms.ModelChoiceField(
        queryset=OrgUnit.objects.none(), label=_("Unit (empty: the whole plan)"), required=False
    )
    text = forms.CharField(label=_("As written"), max_length=200)


class SplitForm(forms.Form):
    indicator = forms.ModelChoiceField(queryset=Indicator.objects.none(), label=_("Indicator"))
    year = year_field(_("Year"))


class RevisionForm(FigureTextForm):
    reason = forms.CharField(label=_("Reason"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    decision_number = forms.CharField(label=_("Decision number and symbol"), max_length=100)
    decision_date = forms.DateField(label=_("Decision date"), widget=forms.DateInput(attrs={"type": "date"}))


class BudgetLineForm(forms.Form):
    parent = forms.ModelChoiceField(queryset=BudgetLine.objects.none(), label=_("Under the line"), required=False)
    code = forms.CharField(label=_("Code"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=5000)
    year = year_field(_("Year"))
    amount_text = forms.CharField(label=_("Amount as written"), max_length=100)
    funding_source = forms.ModelChoiceField(
        queryset=FundingSource.objects.all(), label=_("Funding source"), required=False
    )
    agency = forms.ModelChoiceField(queryset=Agency.objects.none(), label=_("Agency"), required=False)
    task_section = forms.ModelChoiceField(queryset=Section.objects.none(), label=_("Pays for section"), required=False)


# Which of a plan's choices each form's fields offer (the view fills them: builder_choices).
CHOICES = {
    "section": "sections",
    "task_section": "sections",
    "lead": "agencies",
    "agency": "agencies",
    "indicator": "indicators",
    "org_unit": "units",
    "parent": "lines",
}
# The plan form names its issuing unit and parent plan among its own choices.
PLAN_CHOICES = {"issuer_org_unit": "units", "parent": "plans"}


def with_choices(form: forms.Form, choices: dict[str, Any]) -> forms.Form:
    """The form with its choice fields limited to the plan's objects."""
    names = PLAN_CHOICES if isinstance(form, PlanForm) else CHOICES
    for name, field in form.fields.items():
        if name in names and isinstance(field, forms.ModelChoiceField):
            field.queryset = choices[names[name]]
    return form


class ChildPlanForm(forms.Form):
    """A plan that implements another (the province's → a commune's): its issuing unit within the
    parent's territory, its title, number and years, and the parent's indicators it takes over."""

    org_unit = forms.ModelChoiceField(queryset=OrgUnit.objects.none(), label=_("Issuing unit"))
    title = forms.CharField(label=_("Title"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    document_number = forms.CharField(label=_("Number and symbol"), max_length=100, required=False)
    start_year = year_field(_("Start year"))
    end_year = year_field(_("End year"))
    indicators = forms.ModelMultipleChoiceField(
        queryset=Indicator.objects.none(),
        label=_("Indicators it takes over"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, units: Any, indicators: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["indicators"].queryset = indicators  # type: ignore[attr-defined]

    def plan_fields(self) -> dict[str, Any]:
        """The services' fields of the child plan (plans.services.PLAN_FIELDS)."""
        return {name: self.cleaned_data[name] for name in ("title", "document_number", "start_year", "end_year")}
