"""The audit history of accounts: logins, refused logins, lockouts, and changes of roles and
account flags (AuditEvent), with who, when, what and from which address.

Logins are known only through Django's auth signals (and django-axes' lockout signal), and roles
and account flags are changed in the admin, which saves models itself rather than through a
service; so the history is written by signal receivers. They see every save of one object
(admin, shell, seed loader); a bulk `QuerySet.update()` of roles or flags would pass unrecorded:
the one that does (a reorganisation moving roles to successor units) writes its own entries.
Model signals carry no request: AuditContextMiddleware makes the request at hand known to the
receivers, for the acting user and the address.
"""

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from axes.helpers import get_client_ip_address
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import ngettext

from healthplans.models import AuditEvent, AuditKind, OrgUnit, Role, RoleAssignment, User

_current_request: ContextVar[HttpRequest | None] = ContextVar("healthplans_audit_request", default=None)

# The account flags whose changes are recorded, with the value a new account has.
ACCOUNT_FLAGS = {"is_active": True, "is_staff": False, "is_superuser": False}


class AuditContextMiddleware:
    """Keeps the request at hand for the receivers below while a view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def _address(request: Any) -> str | None:
    # The address django-axes counts failures by, so that the history and the lockout agree.
    return None if request is None else get_client_ip_address(request) or None


def _record(kind: str, *, username: str, request: Any, actor: str | None = None, **fields: Any) -> None:
    if actor is None:
        user = getattr(request, "user", None)
        actor = user.get_username() if user is not None and user.is_authenticated else ""
    AuditEvent.objects.create(kind=kind, username=username, actor=actor, ip_address=_address(request), **fields)


def _record_in_request(kind: str, *, username: str, **fields: Any) -> None:
    _record(kind, username=username, request=_current_request.get(), **fields)


# ---- logins ---------------------------------------------------------------------------------


@receiver(user_logged_in, dispatch_uid="audit_login")
def record_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    _record(AuditKind.LOGIN, username=user.get_username(), actor=user.get_username(), request=request)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def record_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get(User.USERNAME_FIELD, ""))[:150]
    _record(AuditKind.LOGIN_FAILED, username=username, actor="", request=request)


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def record_lockout(sender: Any, request: HttpRequest, username: str | None, **kwargs: Any) -> None:
    _record(AuditKind.LOCKOUT, username=(username or "")[:150], actor="", request=request)


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials: Any) -> HttpResponse:
    """django-axes' answer to a locked-out login: 429, a JSON body on the API, a page elsewhere."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    message = ngettext(
        "Too many failed logins. Try again in %(minutes)d minute.",
        "Too many failed logins. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    match = getattr(request, "resolver_match", None)
    if match is not None and match.namespace == "api":
        response: HttpResponse = JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    else:
        response = render(request, "registration/lockout.html", {"message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


# ---- roles ----------------------------------------------------------------------------------


def _unit(unit: OrgUnit) -> str:
    return f"{unit.name} ({unit.code})"


def _record_role(kind: str, assignment: RoleAssignment, details: dict[str, Any]) -> None:
    username = assignment.user.get_username()
    _record_in_request(kind, username=username, tenant=assignment.org_unit.tenant, details=details)


# The state before a save travels from pre_save to post_save in the instance's __dict__.
@receiver(pre_save, sender=RoleAssignment, dispatch_uid="audit_role_before")
def remember_role(sender: type[RoleAssignment], instance: RoleAssignment, **kwargs: Any) -> None:
    if instance.pk is not None:
        before = RoleAssignment.objects.filter(pk=instance.pk).select_related("org_unit").first()
        instance.__dict__["_audit_before"] = before


@receiver(post_save, sender=RoleAssignment, dispatch_uid="audit_role_saved")
def record_role_saved(sender: type[RoleAssignment], instance: RoleAssignment, created: bool, **kwargs: Any) -> None:
    before: RoleAssignment | None = instance.__dict__.pop("_audit_before", None)
    details: dict[str, Any]
    if created or before is None:
        details = {"role": instance.role, "org_unit": _unit(instance.org_unit)}
        _record_role(AuditKind.ROLE_GRANTED, instance, details)
    elif (before.role, before.org_unit_id) != (instance.role, instance.org_unit_id):
        details = {"role": [before.role, instance.role], "org_unit": [_unit(before.org_unit), _unit(instance.org_unit)]}
        _record_role(AuditKind.ROLE_CHANGED, instance, details)


@receiver(post_delete, sender=RoleAssignment, dispatch_uid="audit_role_deleted")
def record_role_deleted(sender: type[RoleAssignment], instance: RoleAssignment, **kwargs: Any) -> None:
    _record_role(AuditKind.ROLE_REVOKED, instance, {"role": instance.role, "org_unit": _unit(instance.org_unit)})


# ---- account flags --------------------------------------------------------------------------


@receiver(pre_save, sender=User, dispatch_uid="audit_account_before")
def remember_account_flags(sender: type[User], instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    # A login saves only last_login: no query for it.
    if instance.pk is None or (update_fields is not None and not set(update_fields) & set(ACCOUNT_FLAGS)):
        return
    instance.__dict__["_audit_flags"] = User.objects.filter(pk=instance.pk).values(*ACCOUNT_FLAGS).first()


@receiver(post_save, sender=User, dispatch_uid="audit_account_saved")
def record_account_flags(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    before = ACCOUNT_FLAGS if created else instance.__dict__.pop("_audit_flags", None)
    if before is None:
        return
    changes = {
        flag: [None if created else before[flag], getattr(instance, flag)]
        for flag in ACCOUNT_FLAGS
        if getattr(instance, flag) != before[flag]
    }
    if changes:
        _record_in_request(AuditKind.ACCOUNT_CHANGED, username=instance.get_username(), details=changes)


def describe(event: AuditEvent) -> str:
    """What an event changed, in words: `planner · Tỉnh Lào Cai (laocai)`, `is_staff: False → True`."""
    details = event.details
    if "role" not in details:
        return "; ".join(f"{flag}: {old} → {new}" for flag, (old, new) in sorted(details.items()))
    if isinstance(details["role"], list):
        (old_role, new_role), (old_unit, new_unit) = details["role"], details["org_unit"]
        return f"{Role(old_role).label} · {old_unit} → {Role(new_role).label} · {new_unit}"
    if isinstance(details["org_unit"], list):  # moved to a successor unit by a reorganisation
        old_unit, new_unit = details["org_unit"]
        return f"{Role(details['role']).label} · {old_unit} → {new_unit}"
    return f"{Role(details['role']).label} · {details['org_unit']}"
