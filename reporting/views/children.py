"""Child plans: a planner of the issued plan's territory sets up a plan that implements it (the
province's plan → a commune's); the draft then opens in the builder. indicators.children does the
work; here, in the top layer, beside the builder's other pages."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from healthplans.models import OrgUnit, Role, User
from healthplans.selectors import Reach, org_unit_list
from healthplans.workflow import Forbidden, Invalid
from indicators.children import plan_create_child
from indicators.selectors import indicator_list, role_paths
from plans.models import Plan
from plans.selectors import plan_get_or_404
from reporting.builder_forms import ChildPlanForm
from reporting.views.builder import builder_url


def child_units(user: User, parent: Plan) -> QuerySet[OrgUnit]:
    """The units that may issue a plan implementing `parent`: those of its territory that the user
    plans (a planner's role on them or above them) and that exist in the parent's years (a 2024
    plan's communes may be merged since; a 2026 plan's are today's)."""
    paths = role_paths(user, {Role.PLANNER})
    planned = Reach(everything=paths is None, paths=paths or ())
    years = OrgUnit.overlaps_q(date(parent.start_year, 1, 1), date(parent.last_year, 12, 31))
    return org_unit_list(fetched_by=user).filter(
        planned.subtree_q(), years, path__startswith=parent.issuer_org_unit.path
    )


@login_required
def child_plan_new_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Lập kế hoạch con: the form (a unit of the parent's territory the user plans, the title, number
    and years, the parent's indicators to take over) and, posted, the child's draft in the builder."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    parent = plan_get_or_404(fetched_by=user, slug=slug)
    units = child_units(user, parent)
    if not units.exists():
        raise Forbidden(_("Only planners of the plan's territory may set up plans that implement it."))
    indicators = indicator_list(fetched_by=user, filters={"plan": parent.pk})
    initial = {"start_year": parent.start_year, "end_year": parent.end_year, "indicators": list(indicators)}
    form = ChildPlanForm(request.POST or None, initial=initial, units=units, indicators=indicators)
    if request.method == "POST" and form.is_valid():
        try:
            child = plan_create_child(
                parent=parent,
                org_unit=form.cleaned_data["org_unit"],
                fields=form.plan_fields(),
                indicators=list(form.cleaned_data["indicators"]),
                by=user,
            )
        except Invalid as exc:
            for name, problems in exc.fields.items():
                form.add_error(name if name in form.fields else None, problems)
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            messages.success(request, _("The child plan's draft is created: complete it below, then issue it."))
            return redirect(builder_url(child))
    context = {"parent": parent, "form": form, "issued": parent.status == Plan.Status.ACTIVE}
    return render(request, "plans/child_new.html", context)
