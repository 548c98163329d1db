"""The plan builder's pages: a planner sets up a plan from nothing — the plan, its objectives,
sections and tasks, agencies and assignments, indicators with baselines and targets (per year and
per unit), budget lines — issues it, and revises an issued plan's targets. A page of the top layer,
since it writes plans, indicators and budget lines alike, each through its app's services.

Each part of the page is a small form posting to its own address; a refusal of a service rises to
the core's middleware, which shows it and comes back here (healthplans.errors)."""

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from budgets.lines import budget_line_create
from budgets.selectors import budget_line_list
from healthplans.models import OrgUnit, Role, User
from healthplans.selectors import agency_list, org_unit_list, paths_with_roles
from healthplans.workflow import Forbidden, Invalid
from indicators.definitions import baseline_set, indicator_create, target_revise, target_set, target_split
from indicators.models import EntryLevel, Target, entry_level_q
from indicators.selectors import indicator_list, target_revisions
from plans.models import Plan
from plans.selectors import plan_get_or_404, plan_list
from plans.services import (
    agency_pick_or_add,
    assignment_create,
    objective_create,
    plan_create,
    plan_issue,
    plan_may_write,
    plan_update,
    section_create,
    task_create,
)
from reporting.builder_forms import (
    AgencyForm,
    AssignmentForm,
    BudgetLineForm,
    FigureTextForm,
    IndicatorForm,
    ObjectiveForm,
    PlanForm,
    RevisionForm,
    SectionForm,
    SplitForm,
    TaskForm,
    with_choices,
)


def planner_units(user: User) -> QuerySet[OrgUnit]:
    """The units whose plans the user may set up: those they hold a planner's role on."""
    return org_unit_list(fetched_by=user).filter(path__in=paths_with_roles(user, [Role.PLANNER]))


def plan_for_builder(request: HttpRequest, slug: str) -> Plan:
    """A plan within reach that the user plans (404 out of reach, 403 for anyone but its planners)."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    plan = plan_get_or_404(fetched_by=user, slug=slug)
    if not plan_may_write(plan=plan, by=user):
        raise Forbidden(_("Only planners of the issuing unit may change this plan."))
    return plan


def builder_choices(user: User, plan: Plan) -> dict[str, Any]:
    """What the builder's forms may name: the plan's own objects, its province's agencies, and the
    units of its area (below the issuer) within the user's reach that exist in the plan's years —
    not the stations' sites, nor the units that ended before it began (a province of today holds
    some ten thousand of them)."""
    area = plan.issuer_org_unit
    span = OrgUnit.overlaps_q(date(plan.start_year, 1, 1), date(plan.last_year, 12, 31))
    units = org_unit_list(fetched_by=user).filter(span, path__startswith=area.path, depth__gt=area.depth)
    return {
        "sections": plan.sections.order_by("order"),
        "agencies": agency_list(fetched_by=user).filter(tenant=plan.tenant_id).order_by("name"),
        "indicators": plan.indicators.order_by("order"),
        "units": units.exclude(facility_kind=OrgUnit.FacilityKind.SITE),
        "lines": budget_line_list(fetched_by=user, filters={"plan": plan.pk}),
    }


def builder_url(plan: Plan, part: str = "") -> str:
    return reverse("builder", args=[plan.slug]) + (f"#{part}" if part else "")


# The parts a planner adds to a plan, each by its own form (prefixed with its name).
PART_FORMS: dict[str, type[forms.Form]] = {
    "objective": ObjectiveForm,
    "section": SectionForm,
    "task": TaskForm,
    "agency": AgencyForm,
    "assignment": AssignmentForm,
    "indicator": IndicatorForm,
    "baseline": FigureTextForm,
    "target": FigureTextForm,
    "split": SplitForm,
    "line": BudgetLineForm,
    "revise": RevisionForm,
}


@login_required
def builder_new_view(request: HttpRequest) -> HttpResponse:
    """A new draft plan: its document's header and signature block."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    form = PlanForm(request.POST or None, units=planner_units(user), plans=plan_list(fetched_by=user))
    if request.method == "POST" and form.is_valid():
        unit = form.cleaned_data["issuer_org_unit"]
        plan = plan_create(issuer_org_unit=unit, fields=form.plan_fields(), by=user)
        messages.success(request, _("The draft plan is created: add its parts below."))
        return redirect(builder_url(plan))
    return render(request, "builder/new.html", {"form": form})


@login_required
def builder_view(request: HttpRequest, slug: str) -> HttpResponse:
    """The builder of one plan: what it holds, a form for each part, and its plan form (POST here)."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    plan = plan_for_builder(request, slug)
    units = org_unit_list(fetched_by=user).filter(pk=plan.issuer_org_unit_id)
    plans = plan_list(fetched_by=user).exclude(pk=plan.pk)
    initial = {name: getattr(plan, name) for name in PlanForm.base_fields if name != "issuer_org_unit"}
    initial["issuer_org_unit"] = plan.issuer_org_unit_id
    form = PlanForm(request.POST or None, initial=initial, units=units, plans=plans)
    if request.method == "POST" and form.is_valid():
        plan_update(plan=plan, fields=form.plan_fields(), by=user)
        messages.success(request, _("The plan is saved."))
        return redirect(builder_url(plan))
    choices = builder_choices(user, plan)
    communes = choices["units"].filter(entry_level_q(EntryLevel.COMMUNE))
    context = {
        "plan": plan,
        "form": form,
        "draft": plan.status == Plan.Status.DRAFT,
        "objectives": plan.objectives.order_by("order"),
        "sections": plan.sections.order_by("order").prefetch_related("tasks__lead"),
        "assignments": plan.assignments.select_related("agency").order_by("order"),
        "agencies": choices["agencies"],
        "indicators": indicator_list(fetched_by=user, filters={"plan": plan.pk}),
        "lines": choices["lines"].select_related("parent"),
        "communes": communes,
        "revisions": target_revisions(fetched_by=user, plan=plan),
        "forms": {name: with_choices(form_class(prefix=name), choices) for name, form_class in PART_FORMS.items()},
    }
    return render(request, "builder/plan.html", context)


def _save_part(user: User, plan: Plan, part: str, data: dict[str, Any]) -> None:
    """Hands a part's cleaned form to its service."""
    if part == "objective":
        objective_create(plan=plan, by=user, **data)
    elif part == "section":
        section_create(plan=plan, by=user, **data)
    elif part == "task":
        task_create(by=user, **data)
    elif part == "agency":
        agency_pick_or_add(plan=plan, by=user, **data)
    elif part == "assignment":
        assignment_create(plan=plan, by=user, **data)
    elif part == "indicator":
        indicator_create(plan=plan, by=user, **{name: value for name, value in data.items() if value is not None})
    elif part == "baseline":
        baseline_set(indicator=data["indicator"], year=data["year"], text=data["text"], by=user)
    elif part == "target":
        target_set(by=user, **data)
    elif part == "split":
        target_split(by=user, **data)
    elif part == "line":
        budget_line_create(plan=plan, by=user, **data)
    elif part == "revise":
        indicator, year, unit = data.pop("indicator"), data.pop("year"), data.pop("org_unit")
        target = Target.objects.filter(indicator=indicator, year=year, org_unit=unit).first()
        if target is None:
            raise Invalid(_("The plan sets no target of this year there."))
        target_revise(target=target, by=user, **data)


@login_required
@require_POST
def builder_part_view(request: HttpRequest, slug: str, part: str) -> HttpResponse:
    """Adds one part to the plan (an objective, a task, a target, a revision …) and comes back."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    if part not in PART_FORMS:
        raise Http404
    plan = plan_for_builder(request, slug)
    form = with_choices(PART_FORMS[part](request.POST, prefix=part), builder_choices(user, plan))
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label if name in form.fields else ''}: {' '.join(str(error) for error in errors)}"
            for name, errors in form.errors.items()
        )
        messages.error(request, _("Nothing was saved: %(problems)s") % {"problems": problems})
        return HttpResponseRedirect(builder_url(plan, part))
    _save_part(user, plan, part, dict(form.cleaned_data))
    messages.success(request, _("Saved."))
    return HttpResponseRedirect(builder_url(plan, part))


@login_required
@require_POST
def builder_issue_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Ban hành: the draft comes into force; from now on its targets change only by revision."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    plan = plan_issue(plan=plan_for_builder(request, slug), by=user)
    messages.success(request, _("The plan is issued."))
    return HttpResponseRedirect(builder_url(plan))
