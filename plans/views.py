from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from healthplans.models import Role
from healthplans.selectors import paths_with_roles
from plans.selectors import plan_list


@login_required
def plan_list_view(request: HttpRequest) -> HttpResponse:
    plans = plan_list(fetched_by=request.user).select_related("issuer_org_unit", "parent")
    # Planners set plans up in the builder (reporting's pages): the list links to it for them only.
    plans_here = bool(paths_with_roles(request.user, [Role.PLANNER]))
    return render(request, "plans/plan_list.html", {"plans": plans, "plans_here": plans_here})
