"""Plans read from their documents: upload, the draft read by a worker (healthplans.documents) with
its progress, and the confirmation that creates the corrected draft through the plan builder's
services — plans, indicators and budgets, hence here in the top layer. Only a tenant's planners
upload, see and confirm its documents; nothing of a plan is written before the confirmation."""

from collections.abc import Mapping
from typing import Any

from celery import shared_task
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from budgets.lines import budget_line_create
from healthplans.documents import DocumentRefused, read_plan
from healthplans.models import OrgUnit, Role, Tenant, User
from healthplans.quality import checks_for, draft_facts
from healthplans.selectors import paths_with_roles
from healthplans.workflow import Conflict, Invalid
from indicators.definitions import baseline_set, indicator_create, target_set
from indicators.spreadsheets.targets import unit_kind_of
from plans.models import Plan
from plans.services import (
    agency_pick_or_add,
    assignment_create,
    objective_create,
    plan_create,
    section_create,
    task_create,
)
from reporting.models import PlanDocument

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def planner_units(user: User) -> QuerySet[OrgUnit]:
    """The units where the user plans, highest first."""
    return OrgUnit.objects.filter(path__in=paths_with_roles(user, [Role.PLANNER])).order_by("depth", "path")


def plan_document_list(*, fetched_by: User) -> QuerySet[PlanDocument]:
    tenants = planner_units(fetched_by).values("tenant_id")
    return PlanDocument.objects.filter(tenant_id__in=tenants).order_by("-created_at")


def plan_document_get_or_404(*, fetched_by: User, pk: int) -> PlanDocument:
    """A document of a tenant the user plans for; another's, or none, is the same 404."""
    found = plan_document_list(fetched_by=fetched_by).filter(pk=pk).first()
    if found is None:
        raise Http404(_("No such plan document."))
    return found


def plan_document_upload(*, tenant: Tenant, name: str, content: bytes, by: User) -> PlanDocument:
    """Keeps the file and hands its reading to a worker (at once in tests and `make run`)."""
    if not planner_units(by).filter(tenant=tenant).exists():
        raise Http404(_("No such tenant."))
    if len(content) > MAX_UPLOAD_BYTES:
        raise Invalid(
            _("The file is too large (20 MB at most)."), fields={"file": [_("The file is too large (20 MB at most).")]}
        )
    document = PlanDocument(tenant=tenant, uploaded_by=by, name=name[:255])
    document.file.save(name[:100] or "plan", ContentFile(content), save=False)
    document.save()
    transaction.on_commit(lambda: plan_document_read_task.delay(document.pk))
    return document


@shared_task(acks_late=True)
def plan_document_read_task(document_id: int) -> None:
    """Reads the document into its draft; delivered again after it finished, it does nothing."""
    claimed = PlanDocument.objects.filter(pk=document_id, status=PlanDocument.Status.QUEUED).update(
        status=PlanDocument.Status.RUNNING, progress=10
    )
    if not claimed:
        return
    document = PlanDocument.objects.get(pk=document_id)

    def progress(percent: int) -> None:
        PlanDocument.objects.filter(pk=document_id).update(progress=percent)

    try:
        with document.file.open("rb") as handle:
            content = handle.read()
        draft = read_plan(document.name, content, progress)
    except DocumentRefused as refusal:
        document.status, document.error, document.draft = PlanDocument.Status.REFUSED, str(refusal), {}
    except Exception:
        document.status, document.error = PlanDocument.Status.FAILED, _("The document could not be read.")
        document.save(update_fields=["status", "error"])
        raise
    else:
        name_unit_kinds(draft)
        document.status, document.draft, document.checks = PlanDocument.Status.READY, draft, draft_checks(draft)
    document.progress = 100
    document.save(update_fields=["status", "error", "draft", "checks", "progress"])


def name_unit_kinds(draft: dict[str, Any]) -> None:
    """Each indicator's unit as written names its kind, as the builder would save it ("%" percent,
    "‰" per mille, "/vạn dân" per 10,000), so that the unit and scale checks apply to the draft and
    the planner sees (and may correct) the kind the plan will get. No unit written: left to the planner."""
    for indicator in draft.get("indicators") or []:
        if indicator.get("unit") and not indicator.get("unit_kind"):
            indicator["unit_kind"] = unit_kind_of(indicator["unit"])


def draft_checks(draft: Mapping[str, Any]) -> list[dict[str, str]]:
    """The plan quality checks on a draft, as the API and the review page show them."""
    return [
        {
            "code": check.code,
            "severity": check.severity,
            "message": check.message,
            "where": str(check.where),
            "source": check.source,
        }
        for check in checks_for(draft_facts(draft))
    ]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@transaction.atomic
def plan_document_confirm(*, document: PlanDocument, draft: Mapping[str, Any] | None, by: User) -> Plan:
    """Creates the plan of the (corrected) draft through the builder's services, all or nothing."""
    locked = PlanDocument.objects.select_for_update().get(pk=document.pk)
    if locked.status != PlanDocument.Status.READY:
        raise Conflict(_("This document's draft is not ready to confirm."), code="document_not_ready", current=locked)
    draft = dict(draft if draft is not None else locked.draft)
    unit = planner_units(by).filter(tenant=locked.tenant).first()
    if unit is None:
        raise Http404(_("No such plan document."))
    head = draft.get("plan") or {}
    fields = {
        name: head.get(name)
        for name in (
            "title",
            "kind",
            "issuer",
            "issuer_parent",
            "document_number",
            "place",
            "issued_text",
            "start_year",
            "end_year",
            "vision_year",
            "signer_name",
            "signer_title",
            "signer_authority",
            "reporting_frequencies",
        )
        if head.get(name) not in (None, "")
    }
    if head.get("issued_on"):
        fields["issued_on"] = head["issued_on"]
    fields["legal_bases"] = [_text(item.get("text")) for item in head.get("legal_bases") or []]
    fields["recipients"] = [_text(item.get("text")) for item in head.get("recipients") or []]
    fields["source"] = locked.name
    plan = plan_create(issuer_org_unit=unit, fields=fields, by=by)
    for objective in draft.get("objectives") or []:
        objective_create(plan=plan, kind=objective.get("kind") or "purpose", text=_text(objective.get("text")), by=by)

    def sections(items: list[dict[str, Any]], parent: Any) -> None:
        for item in items:
            section = section_create(
                plan=plan, number=_text(item.get("number")), title=_text(item.get("title")), parent=parent, by=by
            )
            for task in item.get("tasks") or []:
                task_create(
                    section=section, text=_text(task.get("text")), amount_text=_text(task.get("amount_text")), by=by
                )
            sections(item.get("sections") or [], section)

    sections(draft.get("sections") or [], None)
    agencies = {}
    for agency in draft.get("agencies") or []:
        agencies[agency["name"]] = agency_pick_or_add(plan=plan, name=_text(agency["name"]), by=by)
    for assignment in draft.get("assignments") or []:
        name = _text(assignment.get("agency"))
        agency = agencies.get(name) or agency_pick_or_add(plan=plan, name=name, by=by)
        assignment_create(
            plan=plan,
            agency=agency,
            role=assignment.get("role") or "lead",
            text=_text(assignment.get("text")),
            number=_text(assignment.get("number")),
            by=by,
        )
    for row in draft.get("indicators") or []:
        indicator = indicator_create(
            plan=plan,
            number=_text(row.get("number")),
            name=_text(row.get("name")),
            unit=_text(row.get("unit")),
            unit_kind=_text(row.get("unit_kind")),
            direction=row.get("direction") or "higher",
            group=_text(row.get("group")),
            by=by,
        )
        baseline = row.get("baseline")
        if baseline:
            baseline_set(indicator=indicator, year=int(baseline["year"]), text=_text(baseline["text"]), by=by)
        for target in row.get("targets") or []:
            target_set(indicator=indicator, year=int(target["year"]), text=_text(target["text"]), by=by)
    lines: dict[str, Any] = {}
    for line in draft.get("budget_lines") or []:
        agency_name = line.get("agency")
        lines[_text(line.get("code"))] = budget_line_create(
            plan=plan,
            code=_text(line.get("code")),
            name=_text(line.get("name")),
            year=int(line.get("year") or plan.start_year),
            amount_text=_text(line.get("amount_text")),
            parent=lines.get(_text(line.get("parent"))) if line.get("parent") else None,
            agency=agencies.get(agency_name) if agency_name else None,
            by=by,
        )
    locked.status, locked.plan, locked.draft = PlanDocument.Status.CONFIRMED, plan, draft
    locked.save(update_fields=["status", "plan", "draft"])
    return plan
