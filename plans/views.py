from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from plans.selectors import plan_list


@login_required
def plan_list_view(request: HttpRequest) -> HttpResponse:
    plans = plan_list(fetched_by=request.user).select_related("issuer_org_unit", "parent")
    return render(request, "plans/plan_list.html", {"plans": plans})
