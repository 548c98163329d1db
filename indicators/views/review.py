"""Pages: the reviewer's queue of submitted figures, grouped by unit and period, and the review
actions (approve, approve a whole group, return with a message, unlock with a reason).

Two reviewers acting on the same value: the services' versioned writes refuse the second, whose
page then says why (Conflict) instead of failing.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from healthplans.errors import back_to
from healthplans.models import User
from healthplans.workflow import Conflict, Forbidden, Invalid
from indicators.models import Actual
from indicators.selectors import actual_get, actual_list, review_queue_groups
from indicators.services import (
    FigureStep,
    RowsRefused,
    actual_approve,
    actual_approve_many,
    actual_return,
    actual_unlock,
)
from indicators.views.station import render_history


def _render_queue(
    request: HttpRequest, *, failed_return: tuple[int, list[str]] | None = None, status: int = 200
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    groups = review_queue_groups(fetched_by=user)
    if failed_return is not None:
        pk, problems = failed_return
        for item in (item for group in groups for item in group.items if item.actual.pk == pk):
            item.return_errors = problems
            item.typed_message = request.POST.get("message", "")
    context: dict[str, Any] = {"groups": groups}
    return render(request, "review/queue.html", context, status=status)


@login_required
def review_queue_view(request: HttpRequest) -> HttpResponse:
    return _render_queue(request)


def _actual_or_404(request: HttpRequest, pk: int) -> Actual:
    actual = actual_get(fetched_by=request.user, pk=pk)
    if actual is None:
        raise Http404
    return actual


def _posted_version(request: HttpRequest, name: str = "version") -> int | None:
    text = request.POST.get(name, "")
    return int(text) if text.isdigit() else None


def _describe(actual: Actual) -> dict[str, str]:
    return {"indicator": actual.indicator.name, "unit": actual.org_unit.name, "period": actual.period}


@login_required
@require_POST
def approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    actual = _actual_or_404(request, pk)
    user: User = request.user  # type: ignore[assignment]  # login_required
    try:
        actual_approve(actual=actual, by=user, version=_posted_version(request))
    except (Conflict, Invalid) as exc:
        messages.error(request, _("Not approved: %(reason)s") % {"reason": exc.message})
    else:
        messages.success(request, _("Approved «%(indicator)s» (%(unit)s, %(period)s).") % _describe(actual))
    return HttpResponseRedirect(back_to(request, reverse("review-queue")))


@login_required
@require_POST
def approve_group_view(request: HttpRequest) -> HttpResponse:
    """Approve every value the reviewer saw in one (unit, period) group, or none of them."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    ids = {int(pk) for pk in request.POST.getlist("actual") if pk.isdigit()}
    actuals = list(actual_list(fetched_by=user).filter(pk__in=ids)) if ids else []
    if not ids or len(actuals) != len(ids):
        raise Http404
    steps = [FigureStep(actual, _posted_version(request, f"version-{actual.pk}")) for actual in actuals]
    problems: list[str] = []
    try:
        actual_approve_many(steps=steps, by=user)
    except RowsRefused as refused:
        if forbidden := next((e for e in refused.rows.values() if isinstance(e, Forbidden)), None):
            raise forbidden from refused
        problems = [f"«{actuals[index].indicator.name}»: {error.message}" for index, error in refused.rows.items()]
    if problems:
        messages.error(
            request, _("Nothing was approved: %(problems)s Look at the group again.") % {"problems": " ".join(problems)}
        )
    else:
        messages.success(
            request,
            ngettext("Approved %(count)s figure.", "Approved %(count)s figures.", len(actuals))
            % {"count": len(actuals)},
        )
    return HttpResponseRedirect(back_to(request, reverse("review-queue")))


@login_required
@require_POST
def return_view(request: HttpRequest, pk: int) -> HttpResponse:
    actual = _actual_or_404(request, pk)
    user: User = request.user  # type: ignore[assignment]  # login_required
    try:
        actual_return(
            actual=actual, by=user, message=request.POST.get("message", "").strip(), version=_posted_version(request)
        )
    except Invalid as exc:
        # The message is missing: ask for it next to the value, keeping the page as it was.
        return _render_queue(request, failed_return=(actual.pk, [exc.message]), status=400)
    except Conflict as exc:
        messages.error(request, _("Not returned: %(reason)s") % {"reason": exc.message})
    else:
        messages.success(request, _("Returned «%(indicator)s» (%(unit)s, %(period)s).") % _describe(actual))
    return HttpResponseRedirect(back_to(request, reverse("review-queue")))


@login_required
@require_POST
def unlock_view(request: HttpRequest, pk: int) -> HttpResponse:
    actual = _actual_or_404(request, pk)
    user: User = request.user  # type: ignore[assignment]  # login_required
    history_url = reverse("figures-history", args=[actual.pk])
    try:
        actual_unlock(
            actual=actual, by=user, reason=request.POST.get("reason", "").strip(), version=_posted_version(request)
        )
    except Invalid as exc:
        return render_history(request, actual, unlock_errors=[exc.message], status=400)
    except Conflict as exc:
        messages.error(request, _("Not unlocked: %(reason)s") % {"reason": exc.message})
    else:
        messages.success(request, _("Unlocked «%(indicator)s» (%(unit)s, %(period)s).") % _describe(actual))
    return HttpResponseRedirect(history_url)


urlpatterns = [
    path("review/", review_queue_view, name="review-queue"),
    path("review/approve-group/", approve_group_view, name="review-approve-group"),
    path("review/actuals/<int:pk>/approve/", approve_view, name="review-approve"),
    path("review/actuals/<int:pk>/return/", return_view, name="review-return"),
    path("review/actuals/<int:pk>/unlock/", unlock_view, name="review-unlock"),
]
