"""Pages of the core: the user's notifications, and the answer to an address that matches nothing."""

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found

from healthplans.models import Notification, User

# The page shows the latest ones; older notifications stay in the table.
NOTIFICATIONS_SHOWN = 100


def notification_list(*, fetched_by: User) -> QuerySet[Notification]:
    """A user's own notifications, newest first."""
    return Notification.objects.filter(user=fetched_by).order_by("-created_at", "-pk")


def notifications_mark_read(*, notifications: list[Notification]) -> None:
    """Mark as read the ones the user has now seen (one UPDATE, whatever their number)."""
    unread = [notification.pk for notification in notifications if notification.read_at is None]
    if unread:
        Notification.objects.filter(pk__in=unread, read_at__isnull=True).update(read_at=timezone.now())


@login_required
def notification_list_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]  # login_required
    notifications = list(notification_list(fetched_by=user)[:NOTIFICATIONS_SHOWN])
    # Marked read before rendering, so the count in the navigation drops at once; the rows keep
    # the state they were read with, so the new ones stand out on this visit.
    notifications_mark_read(notifications=notifications)
    return render(request, "figures/notifications.html", {"notifications": notifications})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an API client gets JSON, as from every API view (e.g. /api/plans/abc/), not a page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return page_not_found(request, exception)
