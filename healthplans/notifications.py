"""Notifications: a line in the app, and the same text by e-mail."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import gettext as _

from healthplans.models import Notification, User


def notification_send(*, user: User, text: str, link: str = "") -> Notification:
    """An in-app notification, and the same text by e-mail once the transaction commits."""
    notification = Notification.objects.create(user=user, text=text, link=link)
    if user.email:
        transaction.on_commit(
            lambda: send_mail(
                subject=_("healthplans: a figure needs your attention"),
                message=f"{text}\n\n{link}",
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
        )
    return notification
