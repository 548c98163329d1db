"""Writes of plans: the plan itself and its life (draft → issued → closed), its objectives, numbered
sections and their tasks, the agencies it names and their assignments.

The plan builder's pages, its API and the document reader all call these. Every service is
keyword-only, atomic, cleans what it writes (`full_clean`) and takes the acting user as `by`; only a
planner of the plan's issuing unit (a role held on it or above it) writes a plan. A draft changes
freely; an issued plan's targets change only by a revision (indicators.definitions.target_revise);
a closed plan changes no more. Refusals are the core's `Invalid`, `Forbidden` and `Conflict`.
"""

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max, Model, ProtectedError, QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _

from healthplans.models import Agency, OrgUnit, Role, User
from healthplans.selectors import roles_at
from healthplans.services import agency_create, clean_or_refuse
from healthplans.vnnumber import NumberTextError, parse_money
from healthplans.workflow import Conflict, Forbidden, Invalid
from plans.models import Assignment, Objective, Plan, Section, Task
from plans.selectors import plan_list

# What plan_create takes besides the issuing unit, and what plan_update may change.
PLAN_FIELDS = frozenset(
    {
        "title",
        "kind",
        "issuer",
        "issuer_parent",
        "document_number",
        "place",
        "issued_on",
        "issued_text",
        "start_year",
        "end_year",
        "vision_year",
        "signer_name",
        "signer_title",
        "signer_authority",
        "legal_bases",
        "recipients",
        "reporting_frequencies",
        "frequency_text",
        "parent",
        "source",
    }
)


# ---- who may write, and when -------------------------------------------------------------------


def plan_may_write(*, plan: Plan, by: User) -> bool:
    """Whether `by` plans at the plan's issuing unit (a planner's role there or above)."""
    return Role.PLANNER in roles_at(by, plan.issuer_org_unit)


def plan_check_writable(*, plan: Plan, by: User) -> None:
    """Refuses a write to the plan by anyone but its planners, and any write to a closed plan."""
    if not plan_may_write(plan=plan, by=by):
        raise Forbidden(_("Only planners of the issuing unit may change this plan."))
    if plan.status == Plan.Status.CLOSED:
        raise Conflict(_("The plan is closed: it changes no more."), code="plan_closed", current=plan)


def plan_check_draft(*, plan: Plan, by: User, current: Model | None = None) -> None:
    """As plan_check_writable, and refuses what only a draft allows (its targets once issued change
    only by a revision that names its decision)."""
    plan_check_writable(plan=plan, by=by)
    if plan.status != Plan.Status.DRAFT:
        raise Conflict(
            _("The plan is issued: a target changes only by a revision that names its reason and decision."),
            code="plan_issued",
            current=current or plan,
        )


def plan_not_issued(plan: Plan) -> Conflict | None:
    """Why figures and budget amounts may not be entered against the plan: it is still a draft,
    whose indicators, targets and lines may yet change (the figure and budget services ask)."""
    if plan.status != Plan.Status.DRAFT:
        return None
    return Conflict(
        _("The plan is not issued yet: figures are entered once it is issued («%(title)s»).") % {"title": plan.title},
        code="plan_draft",
        current=None,
    )


def _next_order(queryset: QuerySet[Any]) -> int:
    return (queryset.aggregate(last=Max("order"))["last"] or 0) + 1


def money_or_refuse(text: str, *, field: str = "amount_text") -> int | None:
    """An amount as documents write it ("2,5 tỷ", "300 triệu đồng") in đồng; empty for none."""
    if not text.strip():
        return None
    try:
        return parse_money(text)
    except NumberTextError as exc:
        message = _(exc.template).format(text=exc.text)
        raise Invalid(message, fields={field: [message]}) from exc


# ---- plans -----------------------------------------------------------------------------------


def _new_slug(issuer_org_unit: OrgUnit, start_year: int) -> str:
    # Vietnamese titles slugify poorly and repeat from year to year: the unit, the year and a token.
    return f"{slugify(issuer_org_unit.code)[:60]}-{start_year}-{uuid.uuid4().hex[:8]}"


@transaction.atomic
def plan_create(*, issuer_org_unit: OrgUnit, fields: Mapping[str, Any], by: User) -> Plan:
    """A draft plan issued by `issuer_org_unit` (its tenant's). `fields`: any of PLAN_FIELDS —
    title, start_year and end_year required; issuer (the body's name as written) defaults to the
    unit's name; parent a Plan; legal_bases, recipients and reporting_frequencies lists."""
    unknown = set(fields) - PLAN_FIELDS
    if unknown:
        raise Invalid(_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    plan = Plan(
        tenant_id=issuer_org_unit.tenant_id,
        issuer_org_unit=issuer_org_unit,
        status=Plan.Status.DRAFT,
        issuer=issuer_org_unit.name,
    )
    if not plan_may_write(plan=plan, by=by):
        raise Forbidden(_("Only planners of the issuing unit may create its plans."))
    for name, value in fields.items():
        setattr(plan, name, value)
    plan.slug = _new_slug(issuer_org_unit, int(plan.start_year or 0))
    _check_parent(plan, by)
    clean_or_refuse(plan)
    plan.save()
    return plan


@transaction.atomic
def plan_update(*, plan: Plan, fields: Mapping[str, Any], by: User) -> Plan:
    """Changes the plan's own fields (any of PLAN_FIELDS); an issued plan's years stay, since its
    targets and figures hang on them."""
    plan_check_writable(plan=plan, by=by)
    unknown = set(fields) - PLAN_FIELDS
    if unknown:
        raise Invalid(_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    years = {"start_year", "end_year", "vision_year"}
    if plan.status != Plan.Status.DRAFT and any(fields[y] != getattr(plan, y) for y in years & set(fields)):
        raise Conflict(_("The plan is issued: its years no longer change."), code="plan_issued", current=plan)
    for name, value in fields.items():
        setattr(plan, name, value)
    _check_parent(plan, by)
    clean_or_refuse(plan)
    plan.save()
    return plan


def _check_parent(plan: Plan, by: User) -> None:
    """A parent plan is one the planner sees (issued at or above the unit) and not the plan itself."""
    if plan.parent_id is None:
        return
    if plan.parent_id == plan.pk or not plan_list(fetched_by=by).filter(pk=plan.parent_id).exists():
        message = _("This parent plan is not one you may see.")
        raise Invalid(message, fields={"parent": [message]})


@transaction.atomic
def plan_issue(*, plan: Plan, by: User) -> Plan:
    """Ban hành: the draft becomes the plan in force."""
    plan_check_writable(plan=plan, by=by)
    if plan.status != Plan.Status.DRAFT:
        raise Conflict(_("Only a draft plan can be issued."), code="plan_not_draft", current=plan)
    plan.status = Plan.Status.ACTIVE
    plan.save(update_fields=["status"])
    return plan


@transaction.atomic
def plan_close(*, plan: Plan, by: User) -> Plan:
    plan_check_writable(plan=plan, by=by)
    if plan.status != Plan.Status.ACTIVE:
        raise Conflict(_("Only an issued plan can be closed."), code="plan_not_issued", current=plan)
    plan.status = Plan.Status.CLOSED
    plan.save(update_fields=["status"])
    return plan


@transaction.atomic
def plan_delete(*, plan: Plan, by: User) -> None:
    """Deletes a plan with everything it defines; refused once figures, budget amounts or child
    plans hang on it (their foreign keys protect it; the check runs before anything is deleted)."""
    plan_check_writable(plan=plan, by=by)
    try:
        plan.delete()
    except ProtectedError as exc:
        children = any(isinstance(row, Plan) for row in exc.protected_objects)
        message = (
            _("The plan has child plans: it cannot be deleted.")
            if children
            else _("The plan has figures or budget amounts: it cannot be deleted.")
        )
        raise Conflict(message, code="plan_protected", current=plan) from exc


# ---- objectives, sections, tasks ---------------------------------------------------------------


@transaction.atomic
def objective_create(*, plan: Plan, kind: str, text: str, order: int | None = None, by: User) -> Objective:
    plan_check_writable(plan=plan, by=by)
    objective = Objective(plan=plan, kind=kind, text=text, order=order or _next_order(plan.objectives.all()))
    clean_or_refuse(objective)
    objective.save()
    return objective


@transaction.atomic
def objective_update(*, objective: Objective, kind: str, text: str, by: User) -> Objective:
    plan_check_writable(plan=objective.plan, by=by)
    objective.kind, objective.text = kind, text
    clean_or_refuse(objective)
    objective.save()
    return objective


@transaction.atomic
def objective_delete(*, objective: Objective, by: User) -> None:
    plan_check_writable(plan=objective.plan, by=by)
    objective.delete()


@transaction.atomic
def section_create(
    *, plan: Plan, number: str, title: str, parent: Section | None = None, order: int | None = None, by: User
) -> Section:
    """A numbered section of tasks ("1", "1.1", "III.2"), under `parent` (a section of the plan)."""
    plan_check_writable(plan=plan, by=by)
    if parent is not None and parent.plan_id != plan.pk:
        raise Invalid(_("The parent section is not of this plan."), fields={"parent": [_("Not of this plan.")]})
    section = Section(
        plan=plan, parent=parent, number=number, title=title, order=order or _next_order(plan.sections.all())
    )
    clean_or_refuse(section)
    section.save()
    return section


@transaction.atomic
def section_update(*, section: Section, number: str, title: str, by: User) -> Section:
    plan_check_writable(plan=section.plan, by=by)
    section.number, section.title = number, title
    clean_or_refuse(section)
    section.save()
    return section


@transaction.atomic
def section_delete(*, section: Section, by: User) -> None:
    plan_check_writable(plan=section.plan, by=by)
    section.delete()


def _check_agency(plan: Plan, agency: Agency | None, field: str) -> None:
    if agency is not None and agency.tenant_id != plan.tenant_id:
        message = _("This agency is not of the plan's province.")
        raise Invalid(message, fields={field: [message]})


@transaction.atomic
def task_create(
    *,
    section: Section,
    text: str,
    lead: Agency | None = None,
    amount_text: str = "",
    order: int | None = None,
    by: User,
) -> Task:
    """A task of a section; its amount typed as the document writes it ("2,5 tỷ"), kept as written
    and read into đồng."""
    plan_check_writable(plan=section.plan, by=by)
    _check_agency(section.plan, lead, "lead")
    task = Task(
        section=section,
        text=text,
        lead=lead,
        amount=money_or_refuse(amount_text),
        amount_text=amount_text.strip(),
        order=order or _next_order(section.tasks.all()),
    )
    clean_or_refuse(task)
    task.save()
    return task


@transaction.atomic
def task_update(*, task: Task, text: str, lead: Agency | None, amount_text: str, by: User) -> Task:
    plan = task.section.plan
    plan_check_writable(plan=plan, by=by)
    _check_agency(plan, lead, "lead")
    task.text, task.lead = text, lead
    task.amount, task.amount_text = money_or_refuse(amount_text), amount_text.strip()
    clean_or_refuse(task)
    task.save()
    return task


@transaction.atomic
def task_delete(*, task: Task, by: User) -> None:
    plan_check_writable(plan=task.section.plan, by=by)
    task.delete()


# ---- agencies and assignments -----------------------------------------------------------------


@transaction.atomic
def agency_pick_or_add(*, plan: Plan, name: str, code: str = "", kind: str = Agency.Kind.OTHER, by: User) -> Agency:
    """The plan's province's agency of this code, or else of this name (as written, any case); a new
    one if there is none (through the core's agency_create)."""
    plan_check_writable(plan=plan, by=by)
    if plan.tenant is None:
        raise Invalid(_("A national plan names no province's agencies."))
    name = " ".join(name.split())
    agencies = Agency.objects.filter(tenant=plan.tenant)
    found = (code and agencies.filter(code=code).first()) or agencies.filter(name__iexact=name).first()
    if found:
        return found
    if not name:
        raise Invalid(_("Give the agency's name."), fields={"name": [_("This field is required.")]})
    code = code or slugify(name)[:70] or "agency"
    if agencies.filter(code=code).exists():
        code = f"{code[:70]}-{uuid.uuid4().hex[:6]}"
    return agency_create(tenant=plan.tenant, code=code, name=name, kind=kind, by=by)


@transaction.atomic
def assignment_create(
    *,
    plan: Plan,
    agency: Agency,
    role: str,
    text: str,
    number: str = "",
    order: int | None = None,
    by: User,
) -> Assignment:
    """Tổ chức thực hiện: the agency leads (chủ trì, role "lead") or coordinates (phối hợp,
    "coordinate"), with its responsibility as written."""
    plan_check_writable(plan=plan, by=by)
    _check_agency(plan, agency, "agency")
    assignment = Assignment(
        plan=plan,
        agency=agency,
        role=role,
        text=text,
        number=number,
        order=order or _next_order(plan.assignments.all()),
    )
    clean_or_refuse(assignment)
    assignment.save()
    return assignment


@transaction.atomic
def assignment_update(*, assignment: Assignment, agency: Agency, role: str, text: str, by: User) -> Assignment:
    plan_check_writable(plan=assignment.plan, by=by)
    _check_agency(assignment.plan, agency, "agency")
    assignment.agency, assignment.role, assignment.text = agency, role, text
    clean_or_refuse(assignment)
    assignment.save()
    return assignment


@transaction.atomic
def assignment_delete(*, assignment: Assignment, by: User) -> None:
    plan_check_writable(plan=assignment.plan, by=by)
    assignment.delete()
