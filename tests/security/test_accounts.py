"""Accounts: login throttling (django-axes) on the login page and the API token endpoint,
password rules, and the audit history of logins, lockouts, roles and account flags."""

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.auth.password_validation import validate_password
from django.test import Client

from healthplans.models import AuditEvent, AuditKind, OrgUnit, RoleAssignment, User

pytestmark = pytest.mark.django_db

USER = "laocai.planner"
ADDRESS = "203.0.113.7"


def log_in(client: Client, password: str, *, username: str = USER, address: str = ADDRESS) -> Any:
    return client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="vi"
    )


def fail_until_locked(client: Client, **where: str) -> Any:
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong-password", **where).status_code == 200
    return log_in(client, "wrong-password", **where)


def events(kind: str, username: str = USER) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind=kind, username=username).order_by("at", "pk"))


# ---- throttling -----------------------------------------------------------------------------


def test_login_page_locks_a_username_out_of_an_address_after_repeated_failures(client: Client) -> None:
    locked = fail_until_locked(client)
    assert locked.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in locked.content.decode()
    assert locked["Retry-After"] == str(settings.AXES_COOLOFF_TIME.seconds)

    # Even the right password is refused while locked out, and nobody is logged in.
    refused = log_in(client, settings.DEMO_PASSWORD)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session

    # The lockout is by username and address: the same user from elsewhere, or another user
    # from the same address, still logs in.
    assert log_in(Client(), settings.DEMO_PASSWORD, address="198.51.100.2").status_code == 302
    assert log_in(Client(), settings.DEMO_PASSWORD, username="laocai.reviewer").status_code == 302


def test_lockout_ends_after_the_cool_off(client: Client) -> None:
    assert fail_until_locked(client).status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME)
    assert log_in(client, settings.DEMO_PASSWORD).status_code == 302


def test_a_successful_login_clears_the_failures(client: Client) -> None:
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong-password")
    assert log_in(client, settings.DEMO_PASSWORD).status_code == 302
    client.logout()
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong-password").status_code == 200
    assert log_in(client, settings.DEMO_PASSWORD).status_code == 302


def test_api_token_endpoint_is_throttled_too() -> None:
    api = Client(REMOTE_ADDR=ADDRESS, HTTP_ACCEPT_LANGUAGE="vi")
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert api.post("/api/auth/token/", {"username": USER, "password": "wrong-password"}).status_code == 400
    locked = api.post("/api/auth/token/", {"username": USER, "password": "wrong-password"})
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked_out"
    assert "Đăng nhập sai quá nhiều lần" in locked.json()["detail"]
    refused = api.post("/api/auth/token/", {"username": USER, "password": settings.DEMO_PASSWORD})
    assert refused.status_code == 429
    assert "token" not in refused.json()
    elsewhere = Client(REMOTE_ADDR="198.51.100.2").post(
        "/api/auth/token/", {"username": USER, "password": settings.DEMO_PASSWORD}
    )
    assert elsewhere.status_code == 200
    assert elsewhere.json()["token"]


# ---- passwords ------------------------------------------------------------------------------


def test_demo_password_passes_the_validators() -> None:
    for user in User.objects.filter(username__in=[USER, "admin", "muongkhuong.station"]):
        validate_password(settings.DEMO_PASSWORD, user)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Hn-2024-x", "Mật khẩu này quá ngắn. Nó phải chứa ít nhất 12 ký tự."),
        ("123456789012345", "Mật khẩu này hoàn toàn là số."),
        ("password12345", "Mật khẩu này quá phổ biến."),
    ],
)
def test_password_change_refuses_a_weak_password_in_vietnamese(login: Any, password: str, message: str) -> None:
    response = login("admin").post(
        "/admin/password_change/",
        {"old_password": settings.DEMO_PASSWORD, "new_password1": password, "new_password2": password},
        HTTP_ACCEPT_LANGUAGE="vi",
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.get(username="admin").check_password(settings.DEMO_PASSWORD)


# ---- audit history: logins ------------------------------------------------------------------


def test_login_is_recorded_with_user_and_address(client: Client) -> None:
    assert log_in(client, settings.DEMO_PASSWORD).status_code == 302
    [login] = events(AuditKind.LOGIN)
    assert (login.actor, login.ip_address) == (USER, ADDRESS)
    # The login's own save (last_login) is not an account change.
    assert not events(AuditKind.ACCOUNT_CHANGED)


def test_failed_logins_and_the_lockout_are_recorded(client: Client) -> None:
    fail_until_locked(client)
    failures = events(AuditKind.LOGIN_FAILED)
    assert len(failures) == settings.AXES_FAILURE_LIMIT
    assert {(event.actor, event.ip_address) for event in failures} == {("", ADDRESS)}
    [lockout] = events(AuditKind.LOCKOUT)
    assert lockout.ip_address == ADDRESS
    # A login refused during the lockout is a failure and a lockout again, never a login.
    log_in(client, settings.DEMO_PASSWORD)
    assert len(events(AuditKind.LOGIN_FAILED)) == settings.AXES_FAILURE_LIMIT + 1
    assert len(events(AuditKind.LOCKOUT)) == 2
    assert not events(AuditKind.LOGIN)


def test_failed_login_of_an_unknown_name_is_recorded_under_that_name(client: Client) -> None:
    log_in(client, "whatever", username="nobody.here")
    [failure] = events(AuditKind.LOGIN_FAILED, "nobody.here")
    assert failure.ip_address == ADDRESS


# ---- audit history: roles and account flags -------------------------------------------------


def admin_client() -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(User.objects.get(username="admin"))
    return client


def test_role_grant_change_and_revocation_are_recorded_with_who_and_where() -> None:
    client = admin_client()
    user = User.objects.create_user("laocai.newcomer", password="x")
    laocai, quangngai = OrgUnit.objects.get(code="laocai"), OrgUnit.objects.get(code="quangngai")

    added = client.post(
        "/admin/healthplans/roleassignment/add/", {"user": user.pk, "org_unit": laocai.pk, "role": "planner"}
    )
    assert added.status_code == 302
    assignment = RoleAssignment.objects.get(user=user)
    changed = client.post(
        f"/admin/healthplans/roleassignment/{assignment.pk}/change/",
        {"user": user.pk, "org_unit": quangngai.pk, "role": "reviewer"},
    )
    assert changed.status_code == 302
    deleted = client.post(f"/admin/healthplans/roleassignment/{assignment.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302

    granted, moved, revoked = AuditEvent.objects.filter(username="laocai.newcomer").order_by("pk")
    assert (granted.kind, granted.tenant, granted.details["role"]) == (AuditKind.ROLE_GRANTED, laocai.tenant, "planner")
    assert (moved.kind, moved.tenant, moved.details["role"]) == (
        AuditKind.ROLE_CHANGED,
        quangngai.tenant,
        ["planner", "reviewer"],
    )
    assert (revoked.kind, revoked.details["role"]) == (AuditKind.ROLE_REVOKED, "reviewer")
    assert {(event.actor, event.ip_address) for event in (granted, moved, revoked)} == {("admin", ADDRESS)}


def test_saving_a_role_unchanged_records_nothing() -> None:
    assignment = RoleAssignment.objects.filter(user__username=USER).first()
    assert assignment is not None
    before = AuditEvent.objects.count()
    assignment.save()
    assert AuditEvent.objects.count() == before


def test_account_flag_changes_are_recorded() -> None:
    user = User.objects.create_user("laocai.flags", password="x")
    data = {
        "username": user.username,
        "is_staff": "on",  # is_active left unticked: the account is disabled
        "date_joined_0": "2024-01-01",
        "date_joined_1": "00:00:00",
        "role_assignments-TOTAL_FORMS": "0",
        "role_assignments-INITIAL_FORMS": "0",
    }
    response = admin_client().post(f"/admin/healthplans/user/{user.pk}/change/", data)
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.is_staff, user.is_active) == (True, False)
    [event] = events(AuditKind.ACCOUNT_CHANGED, "laocai.flags")
    assert event.details == {"is_active": [True, False], "is_staff": [False, True]}
    assert (event.actor, event.ip_address) == ("admin", ADDRESS)


def test_a_new_superuser_is_recorded_outside_a_request() -> None:
    User.objects.create_superuser("root2", password="x")
    [event] = events(AuditKind.ACCOUNT_CHANGED, "root2")
    assert event.details == {"is_staff": [None, True], "is_superuser": [None, True]}
    assert (event.actor, event.ip_address) == ("", None)


# ---- audit history in the admin -------------------------------------------------------------


def tenant_admin(client: Client) -> User:
    user = User.objects.create_user("laocai.admin", password="x", is_staff=True)
    RoleAssignment.objects.create(user=user, org_unit=OrgUnit.objects.get(code="laocai"), role="tenant_admin")
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client.force_login(user)
    return user


def test_audit_admin_shows_a_tenant_admin_only_its_tenants_events(client: Client) -> None:
    log_in(Client(), settings.DEMO_PASSWORD, username="laocai.reviewer")
    log_in(Client(), settings.DEMO_PASSWORD, username="quangngai.reviewer")
    outsider = User.objects.create_user("quangngai.newcomer", password="x")
    RoleAssignment.objects.create(user=outsider, org_unit=OrgUnit.objects.get(code="quangngai"), role="planner")
    tenant_admin(client)

    body = client.get("/admin/healthplans/auditevent/").content.decode()
    assert "laocai.reviewer" in body
    assert "quangngai.reviewer" not in body
    assert "quangngai.newcomer" not in body


def test_audit_admin_is_read_only(client: Client) -> None:
    tenant_admin(client)
    event = events(AuditKind.ROLE_GRANTED, "laocai.admin")[0]
    user = User.objects.get(username="laocai.admin")
    codenames = ["add_auditevent", "change_auditevent", "delete_auditevent"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(User.objects.get(pk=user.pk))
    assert client.get("/admin/healthplans/auditevent/add/").status_code == 403
    assert client.post(f"/admin/healthplans/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(f"/admin/healthplans/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert AuditEvent.objects.filter(pk=event.pk).exists()
