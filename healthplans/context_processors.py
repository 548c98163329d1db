"""What every page's navigation needs."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from healthplans.models import Notification


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The number of unread notifications: one COUNT, and only on pages that show it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_notification_count": SimpleLazyObject(
            lambda: Notification.objects.filter(user=user, read_at__isnull=True).count()
        )
    }
