"""Writes of the core's reference data: agencies, and staff enrolled with a role on an org unit.

Each service is atomic, cleans what it writes (`full_clean`) and checks that `by` administers the
tenant and the unit it writes in: a superuser anywhere; otherwise within the tenants and the
subtrees their roles reach, as a tenant admin there or as staff holding the model's permission (the
admin's own rule). The admin's forms and its spreadsheet imports call them alike. Refusals are the
core's `Invalid` (with the fields at fault) and `Forbidden`.

Role assignments are saved one by one, so that the audit history (healthplans/audit.py, signal
receivers) records each role granted."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from healthplans.models import Agency, OrgUnit, Role, RoleAssignment, Tenant, User
from healthplans.selectors import reach_of, roles_at, tenant_ids_of
from healthplans.workflow import Forbidden, Invalid


def clean_or_refuse(record: Model, *, exclude: list[str] | None = None) -> None:
    """`full_clean`, its problems refused as the core's `Invalid` with the fields at fault."""
    try:
        record.full_clean(exclude=exclude)
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        raise Invalid(" ".join(exc.messages), code="invalid", fields=fields) from exc


def _top_unit(tenant: Tenant) -> OrgUnit | None:
    """The tenant's province: the unit a tenant-wide record (an agency without a unit) hangs from."""
    return OrgUnit.objects.filter(tenant=tenant).order_by("depth", "path").first()


def may_administer(by: User, *, tenant: Tenant | None, org_unit: OrgUnit | None, permission: str) -> bool:
    """Whether `by` may write the core's reference data of `tenant` (None: the national level) at
    `org_unit`, or tenant-wide without one."""
    if not by.is_active:
        return False
    if by.is_superuser:
        return True
    tenant_ids = tenant_ids_of(by)
    if tenant_ids is not None and (tenant is None or tenant.pk not in tenant_ids):
        return False
    unit = org_unit or (None if tenant is None else _top_unit(tenant))
    if unit is None:
        return False
    if org_unit is not None and not OrgUnit.objects.filter(reach_of(by).subtree_q(), pk=org_unit.pk).exists():
        return False
    return Role.TENANT_ADMIN in roles_at(by, unit) or (by.is_staff and by.has_perm(permission))


def _check_administers(by: User, *, tenant: Tenant | None, org_unit: OrgUnit | None, permission: str) -> None:
    if not may_administer(by, tenant=tenant, org_unit=org_unit, permission=permission):
        raise Forbidden(_("You do not administer this province or unit."))


def _check_adds_agency(by: User, *, tenant: Tenant, org_unit: OrgUnit | None) -> None:
    """Tenant admins manage agencies; a planner of the tenant also adds the ones a plan names (the
    plan builder's pick-or-add), at a unit within their reach."""
    planner = RoleAssignment.objects.filter(user=by, role=Role.PLANNER, org_unit__tenant=tenant).exists()
    if by.is_active and planner and (org_unit is None or Role.PLANNER in roles_at(by, org_unit)):
        return
    _check_administers(by, tenant=tenant, org_unit=org_unit, permission="healthplans.add_agency")


def _check_unit_in_tenant(org_unit: OrgUnit | None, tenant: Tenant) -> None:
    if org_unit is not None and org_unit.tenant_id != tenant.pk:
        message = _("The unit «%(unit)s» is not in %(tenant)s.") % {"unit": org_unit.code, "tenant": tenant.name}
        raise Invalid(message, fields={"org_unit": [message]})


# ---- agencies ---------------------------------------------------------------------------------


@transaction.atomic
def agency_create(
    *,
    tenant: Tenant,
    code: str,
    name: str,
    kind: str = Agency.Kind.OTHER,
    org_unit: OrgUnit | None = None,
    by: User,
) -> Agency:
    _check_adds_agency(by, tenant=tenant, org_unit=org_unit)
    _check_unit_in_tenant(org_unit, tenant)
    agency = Agency(tenant=tenant, code=code, name=name, kind=kind, org_unit=org_unit)
    clean_or_refuse(agency)
    agency.save()
    return agency


@transaction.atomic
def agency_update(*, agency: Agency, name: str, kind: str, org_unit: OrgUnit | None, by: User) -> Agency:
    """Name, kind and unit of an agency; its tenant and code are what it is known by."""
    _check_administers(by, tenant=agency.tenant, org_unit=org_unit, permission="healthplans.change_agency")
    _check_unit_in_tenant(org_unit, agency.tenant)
    agency.name, agency.kind, agency.org_unit = name, kind, org_unit
    clean_or_refuse(agency)
    agency.save()
    return agency


# ---- staff ------------------------------------------------------------------------------------


def _may_manage_user(by: User, user: User) -> bool:
    """An existing account is someone else's unless every role it holds lies within `by`'s reach:
    enrolling it must not take over a user of another province, nor a superuser."""
    if by.is_superuser:
        return True
    if user.is_superuser:
        return False
    paths = list(user.role_assignments.values_list("org_unit__path", flat=True))
    reached = reach_of(by)
    return bool(paths) and all(reached.everything or path.startswith(reached.paths) for path in paths)


@transaction.atomic
def user_enrol(
    *,
    username: str,
    full_name: str = "",
    email: str = "",
    role: str,
    org_unit: OrgUnit,
    by: User,
) -> RoleAssignment:
    """Gives `username` the role on the unit, creating the account if there is none (with no
    usable password: the tenant admin sets one, or the person resets it). A name or e-mail given
    replaces the account's; an empty one leaves it. The whole name goes into `first_name`, since
    Vietnamese names put the family name first and `get_full_name()` starts with `first_name`."""
    _check_administers(by, tenant=org_unit.tenant, org_unit=org_unit, permission="healthplans.add_roleassignment")
    if role not in Role.values:
        message = _("Unknown role «%(role)s».") % {"role": role}
        raise Invalid(message, fields={"role": [message]})
    if role == Role.NATIONAL_VIEWER and not by.is_superuser:
        message = _("Only a national administrator grants the national viewer role.")
        raise Invalid(message, fields={"role": [message]})

    user = User.objects.select_for_update().filter(username=username).first()
    if user is None:
        user = User(username=username, first_name=full_name, email=email)
        user.set_unusable_password()
        clean_or_refuse(user)
        user.save()
    elif not _may_manage_user(by, user):
        message = _("The username «%(username)s» is taken.") % {"username": username}
        raise Invalid(message, fields={"username": [message]})
    else:
        changes = {field: value for field, value in (("first_name", full_name), ("email", email)) if value}
        changed = [field for field, value in changes.items() if getattr(user, field) != value]
        if changed:
            for field in changed:
                setattr(user, field, changes[field])
            clean_or_refuse(user, exclude=["password"])
            user.save(update_fields=changed)

    assignment = RoleAssignment.objects.filter(user=user, org_unit=org_unit, role=role).first()
    if assignment is None:
        assignment = RoleAssignment(user=user, org_unit=org_unit, role=role)
        clean_or_refuse(assignment)
        assignment.save()
    return assignment
