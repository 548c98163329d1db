"""A plan's page: the document (sections, tasks, assignments) with its indicators and budget
lines. It lives here, above the indicators and budgets it reads."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from budgets.selectors import budget_line_list
from healthplans.quality import checks_by_indicator, checks_for, plan_facts
from healthplans.selectors import signed_in_user
from indicators.selectors import indicator_list
from plans.models import Plan
from plans.selectors import plan_get
from reporting.views.children import child_units


@login_required
def plan_detail_view(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    plan = plan_get(fetched_by=user, slug=slug)
    if plan is None:
        raise Http404
    filters = {"plan": plan.pk}
    indicators = list(indicator_list(fetched_by=user, filters=filters))
    budget_lines = list(budget_line_list(fetched_by=user, filters=filters))
    # The quality checks read what the page shows (sections and tasks come prefetched with the plan).
    checks = checks_for(plan_facts(plan, loaded={"indicators": indicators, "budget_lines": budget_lines}))
    by_indicator = checks_by_indicator(checks)
    context = {
        "plan": plan,
        "indicators": [(indicator, by_indicator.get(indicator.number, [])) for indicator in indicators],
        "budget_lines": budget_lines,
        "checks": checks,
        # Lập kế hoạch con: an issued plan's planners of its territory may set up a plan implementing it.
        "plans_children": plan.status == Plan.Status.ACTIVE and child_units(signed_in_user(user), plan).exists(),
    }
    return render(request, "plans/plan_detail.html", context)
