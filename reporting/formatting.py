"""An indicator's figures as the progress pages and the PDF report both show them: decimal
places, unit, baseline, group headings and achievement labels (numbers and periods themselves
are worded by `healthplans.formatting`)."""

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from healthplans.formatting import compared_text, decimal_places
from indicators.models import Group, Indicator, UnitKind
from indicators.progress import MET, NO_DATA, NO_TARGET, NOT_MET

ACHIEVEMENT_LABELS = {
    MET: pgettext_lazy("achievement", "met"),
    NOT_MET: pgettext_lazy("achievement", "not met"),
    NO_DATA: pgettext_lazy("achievement", "no data"),
    NO_TARGET: pgettext_lazy("achievement", "no target"),
}
GROUP_ORDER = [Group.INPUT, Group.ACTIVITY, Group.OUTPUT, ""]


def figure_places(indicator: Indicator) -> int:
    """How many decimal places the indicator's figures are shown with (targets prefetched)."""
    if indicator.unit_kind == UnitKind.COUNT:
        return 0
    values = [target.value for target in indicator.targets.all()]
    baseline = getattr(indicator, "baseline", None)
    if baseline is not None:
        values.append(baseline.value)
    return decimal_places(values)


def unit_of(indicator: Indicator) -> str:
    return indicator.unit or str(UnitKind(indicator.unit_kind).label)


def baseline_text(indicator: Indicator) -> str:
    baseline = getattr(indicator, "baseline", None)
    if baseline is None:
        return ""
    return f"{compared_text(baseline)} ({baseline.year})"


def group_heading(group: str) -> str:
    if not group:
        return _("Other indicators")
    return _("%(group)s indicators") % {"group": Group(group).label}


def group_rank(group: str) -> int:
    """Input, activity, output, then the ungrouped."""
    return GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)
