"""Pages: the reviewer's queue of submitted figures, grouped by unit and period, and the review
actions (approve, approve a whole group, return with a message, unlock with a reason).

Two reviewers acting on the same value: the services' versioned writes refuse the second, whose
page then says why (Conflict) instead of failing.
"""

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from healthplans.models import OrgUnit, User
from healthplans.periods import parse_period
from healthplans.workflow import Conflict, Forbidden, Invalid, ReviewStatus, ServiceError
from indicators.models import Actual, Target
from indicators.selectors import actual_get, actual_list, review_queue
from indicators.services import actual_approve, actual_return, actual_unlock, plausibility_warnings_for
from indicators.views.station import render_history


@dataclass
class QueueItem:
    actual: Actual
    target: Target | None
    warnings: list[str]
    # A return refused for want of a message: the error and what the reviewer typed.
    return_errors: list[str] = field(default_factory=list)
    typed_message: str = ""


@dataclass
class QueueGroup:
    unit: OrgUnit
    period: str
    items: list[QueueItem]


def _queue_groups(user: User) -> list[QueueGroup]:
    actuals = list(
        review_queue(fetched_by=user)
        .select_related("indicator__plan", "submitted_by")
        .prefetch_related("indicator__targets")
    )
    warnings = plausibility_warnings_for(actuals)
    groups: dict[tuple[str, str], QueueGroup] = {}
    for actual in actuals:
        year = parse_period(actual.period).target_year
        targets = [target for target in actual.indicator.targets.all() if target.year == year]
        target = next(
            (t for t in targets if t.org_unit_id == actual.org_unit_id),
            next((t for t in targets if t.org_unit_id is None), None),
        )
        group = groups.setdefault(
            (actual.org_unit.path, actual.period), QueueGroup(unit=actual.org_unit, period=actual.period, items=[])
        )
        group.items.append(QueueItem(actual=actual, target=target, warnings=warnings[actual.pk]))
    return [groups[key] for key in sorted(groups)]


def _render_queue(
    request: HttpRequest, *, failed_return: tuple[int, list[str]] | None = None, status: int = 200
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    groups = _queue_groups(user)
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


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("review-queue")


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


def _conflict_message(exc: Conflict) -> str:
    """Say what happened meanwhile: the usual case is a colleague who reviewed the value first."""
    current = exc.current
    if (
        current is not None
        and current.reviewed_by_id
        and current.status
        in {
            ReviewStatus.APPROVED,
            ReviewStatus.RETURNED,
        }
    ):
        reviewer = User.objects.filter(pk=current.reviewed_by_id).values_list("username", flat=True).first()
        return _("%(message)s %(reviewer)s reviewed it first (%(status)s).") % {
            "message": exc.message,
            "reviewer": reviewer,
            "status": current.get_status_display(),
        }
    return exc.message


@login_required
@require_POST
def approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    actual = _actual_or_404(request, pk)
    user: User = request.user  # type: ignore[assignment]  # login_required
    try:
        actual_approve(actual=actual, by=user, version=_posted_version(request))
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except Conflict as exc:
        messages.error(request, _("Not approved: %(reason)s") % {"reason": _conflict_message(exc)})
    except ServiceError as exc:
        messages.error(request, _("Not approved: %(reason)s") % {"reason": exc.message})
    else:
        messages.success(request, _("Approved «%(indicator)s» (%(unit)s, %(period)s).") % _describe(actual))
    return HttpResponseRedirect(_next_url(request))


@login_required
@require_POST
def approve_group_view(request: HttpRequest) -> HttpResponse:
    """Approve every value the reviewer saw in one (unit, period) group, or none of them."""
    user: User = request.user  # type: ignore[assignment]  # login_required
    ids = {int(pk) for pk in request.POST.getlist("actual") if pk.isdigit()}
    actuals = list(actual_list(fetched_by=user).filter(pk__in=ids)) if ids else []
    if not ids or len(actuals) != len(ids):
        raise Http404
    problems: list[str] = []
    with transaction.atomic():
        for actual in actuals:
            try:
                actual_approve(actual=actual, by=user, version=_posted_version(request, f"version-{actual.pk}"))
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc
            except ServiceError as exc:
                reason = _conflict_message(exc) if isinstance(exc, Conflict) else exc.message
                problems.append(f"«{actual.indicator.name}»: {reason}")
        if problems:
            transaction.set_rollback(True)
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
    return HttpResponseRedirect(_next_url(request))


@login_required
@require_POST
def return_view(request: HttpRequest, pk: int) -> HttpResponse:
    actual = _actual_or_404(request, pk)
    user: User = request.user  # type: ignore[assignment]  # login_required
    try:
        actual_return(
            actual=actual, by=user, message=request.POST.get("message", "").strip(), version=_posted_version(request)
        )
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except Invalid as exc:
        # The message is missing: ask for it next to the value, keeping the page as it was.
        return _render_queue(request, failed_return=(actual.pk, [exc.message]), status=400)
    except Conflict as exc:
        messages.error(request, _("Not returned: %(reason)s") % {"reason": _conflict_message(exc)})
    else:
        messages.success(request, _("Returned «%(indicator)s» (%(unit)s, %(period)s).") % _describe(actual))
    return HttpResponseRedirect(_next_url(request))


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
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
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
