"""The rules of the isolation matrix: for every route of the URL configuration, how to fill it with
another tenant's (or a sibling unit's) objects, or why it is tenant-agnostic.

tests/security/test_isolation_matrix.py walks `django.urls.get_resolver()` and asks this table
for every route it finds; a route without a rule is a failing case ("route X has no isolation rule").
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver

from budgets.models import BudgetExecution, BudgetLine
from healthplans.models import OrgUnit, Tenant, User
from indicators.models import Actual, Indicator
from plans.models import Plan
from reporting.models import PlanDocument, Report

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# The objects of a world a rule can name, in the URL, the query or the body.
OBJECTS = frozenset(
    {
        *("plan", "indicator", "org_unit", "actual", "budget_line", "execution", "report", "import_id"),
        *("tenant", "plan_document"),
    }
)


@dataclass
class World:
    """Objects out of an actor's reach, and strings that only they could put in a response."""

    plan: Plan
    indicator: Indicator  # of `plan`, entered at `org_unit`, with no figure there for `period` yet
    org_unit: OrgUnit
    period: str
    actual: Actual  # a submitted figure at `org_unit` (under `actual.indicator.plan`)
    markers: list[str]
    budget_line: BudgetLine | None = None  # a line of `plan` with no amounts yet
    execution: BudgetExecution | None = None  # submitted amounts on another line of `plan`
    report: Report | None = None  # a ready version of `plan`'s report for `period`
    import_id: str | None = None  # a previewed spreadsheet import of the world's owner
    import_file: bytes = b""  # the owner's export of `plan`'s targets, a plausible upload
    plan_document: PlanDocument | None = None  # a document of `plan`'s tenant, its draft ready to confirm

    @property
    def tenant(self) -> Tenant | None:
        """`plan`'s tenant, where a planner's upload names the tenant it is for: out of reach of
        another tenant's actors, and of the roles that do not plan (every scenario's actor but none
        of the planners of the world's own tenant)."""
        return self.plan.tenant


@dataclass(frozen=True)
class Scenario:
    """An actor and the world it must not reach; `reachable` names the world's objects it may see
    (then only what they hold of the world's unreachable objects must stay out of its pages)."""

    actor: str
    world: str
    reachable: frozenset[str] = frozenset()
    # A national viewer reads every tenant by design: its cases are the writes, which it may not make.
    writes_only: bool = False

    @property
    def id(self) -> str:
        return f"{self.actor}-vs-{self.world}"


# Lào Cai's roles against Bắc Kạn; its two station reporters against each other's units (a city
# ward station and a township station of another district) and against a sibling station in the
# same city plan; the national viewer's writes.
SCENARIOS = [
    Scenario("laocai.planner", "other-tenant"),
    Scenario("laocai.reviewer", "other-tenant"),
    Scenario("laocai.official", "other-tenant"),
    Scenario("laocai.station", "other-tenant"),
    Scenario("laocai.station", "sibling-district"),
    Scenario("muongkhuong.station", "sibling-city"),
    Scenario("laocai.station", "sibling-station", reachable=frozenset({"plan", "indicator"})),
    Scenario("national.viewer", "other-tenant", reachable=OBJECTS, writes_only=True),
]
# The sibling station's world has only a figure and a unit of its own under the city plan.
ABSENT = {"sibling-station": frozenset({"budget_line", "execution", "report", "import_id", "plan_document"})}


Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    """How a route names a world's objects.

    `uses`: the objects the request names (path, query or body); a request naming one out of
    reach must be refused with 403 or 404 (405 where the method is not allowed), unless the route
    is a `listing`, where a GET's query only filters what the actor sees (200, none of the world).
    `bad_reference_400`: a create that names an object it cannot see in its body answers 400
    ("not found among what you may see"), as a missing one does.
    """

    uses: frozenset[str] = frozenset()
    kwargs: Callable[[World], dict[str, Any]] | None = None
    query: Callable[[World], dict[str, Any]] | None = None
    body: Body | None = None
    body_format: str = "form"  # form | json | multipart
    listing: bool = False
    bad_reference_400: bool = False
    # Who of the world's tenant may use the route (the control asks as them): a planner, or the
    # official alone for a step such as the signing page.
    entitled_role: str = "planner"


@dataclass(frozen=True)
class Public:
    """A route that serves no tenant's data, or serves it to anyone by design."""

    reason: str


@dataclass(frozen=True)
class Admin:
    """The admin site: the demo role users are not staff and are sent to its login; a tenant
    admin (staff, with every permission on the project's models) asking for another tenant's row
    of a model is refused, and no admin page shows another tenant's strings."""


# --- bodies: every field the route's forms or serializers read, with plausible values -------------


def actual_step(w: World) -> dict[str, Any]:
    """Edit, submit, approve, return or unlock the world's figure (each step reads what it needs)."""
    a = w.actual
    return {"version": a.version, "value": "12", "note": "x", "message": "Xem lại", "reason": "Sửa số liệu"}


def execution_step(w: World) -> dict[str, Any]:
    e = w.execution
    assert e is not None
    return {"version": e.version, "allocated": 1000, "disbursed": 500, "message": "Xem lại", "reason": "Sửa số"}


def new_actual(w: World) -> dict[str, Any]:
    return {"indicator": w.indicator.pk, "org_unit": w.org_unit.pk, "period": w.period, "value": "12"}


def new_execution(w: World) -> dict[str, Any]:
    line = w.budget_line
    assert line is not None
    return {"budget_line": line.pk, "period": str(line.year), "allocated": 1000, "disbursed": 500}


def grid_cells(w: World) -> dict[str, Any]:
    a = w.actual
    cell = {"indicator": a.indicator_id, "org_unit": a.org_unit_id, "period": a.period, "value": "5"}
    return {"plan": a.indicator.plan.slug, "cells": [{**cell, "version": a.version}]}


def period_form(w: World) -> dict[str, Any]:
    prefix = f"i{w.indicator.pk}"
    return {f"{prefix}-value": "12", f"{prefix}-note": "", f"{prefix}-version": "", "action": "submit"}


def budget_form(w: World) -> dict[str, Any]:
    line = w.budget_line
    assert line is not None
    prefix = f"l{line.pk}"
    return {f"{prefix}-allocated": "1.000", f"{prefix}-disbursed": "500", f"{prefix}-note": "", "action": "submit"}


def narrative(w: World) -> dict[str, Any]:
    return {"narrative": {"achievements": "Đạt"}, "document_number": "12/BC-SYT", "regenerate": False}


def narrative_form(w: World) -> dict[str, Any]:
    return {"document_number": "12/BC-SYT", "achievements": "Đạt", "shortcomings": "", "causes": "", "directions": ""}


def import_upload(w: World) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("targets.csv", w.import_file, content_type="text/csv")
    return {"file": upload, "plan": w.plan.pk, "kind": "targets", "dry_run": "true"}


def import_page_upload(w: World) -> dict[str, Any]:
    body = import_upload(w)
    return {"file": body["file"], "kind": "targets"}


def plan_slug(w: World) -> dict[str, Any]:
    return {"slug": w.plan.slug}


def plan_pk(w: World) -> dict[str, Any]:
    return {"pk": w.plan.pk}


def actual_pk(w: World) -> dict[str, Any]:
    return {"pk": w.actual.pk}


def budget_line_pk(w: World) -> dict[str, Any]:
    assert w.budget_line is not None
    return {"pk": w.budget_line.pk}


def execution_pk(w: World) -> dict[str, Any]:
    assert w.execution is not None
    return {"pk": w.execution.pk}


def report_pk(w: World) -> dict[str, Any]:
    assert w.report is not None
    return {"pk": w.report.pk}


def report_first_page(w: World) -> dict[str, Any]:
    return {**report_pk(w), "page": 1}


def import_id(w: World) -> dict[str, Any]:
    return {"import_id": w.import_id}


def listing(query: Callable[[World], dict[str, Any]] | None = None, **rule: Any) -> Rule:
    """A list of what the actor may see, asked for the world's rows, as many as a page holds."""

    def full_page(w: World) -> dict[str, Any]:
        return {"page_size": 500, **(query(w) if query else {})}

    return Rule(listing=True, query=full_page, **rule)


PLAN = frozenset({"plan"})
ACTUAL = frozenset({"actual"})
EXECUTION = frozenset({"execution"})
REPORT = frozenset({"report"})
IMPORT = frozenset({"import_id"})
UNIT = frozenset({"org_unit"})


def progress_query(w: World) -> dict[str, Any]:
    """A plan's progress at the world's unit (a unit out of reach, even under a plan within it)."""
    return {"period": w.period, "org_unit": w.org_unit.pk}


def progress_page() -> Rule:
    return Rule(uses=PLAN | UNIT, kwargs=plan_slug, query=progress_query)


def plan_page(body: Body | None = None, body_format: str = "form") -> Rule:
    return Rule(uses=PLAN, kwargs=plan_slug, body=body, body_format=body_format)


RULES: dict[str, Rule | Public] = {
    # -- tenant-agnostic ---------------------------------------------------------------------
    "admin:login": Public("the admin's login form"),
    "admin:logout": Public("ends the caller's own session"),
    "admin:javascript-catalog": Public("the admin's translated interface strings"),
    "health": Public("liveness probe: says whether the database and Redis answer, nothing of a tenant"),
    "login": Public("the login form"),
    "logout": Public("ends the caller's own session"),
    "set_language": Public("stores the caller's language choice"),
    "api:token": Public("exchanges the caller's own credentials for the caller's own token"),
    "api:schema": Public("the OpenAPI description of the routes, the same for everyone"),
    "api:verify": Public("checks an uploaded PDF's signature: answers about the file the caller holds"),
    "verify": Public("checks an uploaded PDF's signature: answers about the file the caller holds"),
    "verify-code": Public(
        "what a signed report's QR code opens: public by design, reachable only with the code printed on it"
    ),
    # -- the actor's own lists: nothing of the world may appear --------------------------------
    "home": Rule(),
    "notifications": Rule(),
    "figures-home": Rule(),
    "review-queue": Rule(),
    "api:tenant-list": listing(),
    "api:agency-list": listing(),
    "api:org-unit-list": listing(lambda w: {"parent": w.org_unit.pk}, uses=frozenset({"org_unit"})),
    "api:org-unit-lineage": Rule(uses=frozenset({"org_unit"}), kwargs=lambda w: {"pk": w.org_unit.pk}),
    "api:reorganisation-list": Public("the reorganisations of the administrative units: public law, no tenant's"),
    "api:reorganisation-detail": Public("one reorganisation of the administrative units: public law, no tenant's"),
    "api:plan-list": listing(lambda w: {"tenant": w.plan.tenant.slug if w.plan.tenant else ""}),
    "api:indicator-list": listing(lambda w: {"plan": w.plan.pk}, uses=PLAN),
    "api:budget-line-list": listing(lambda w: {"plan": w.plan.pk}, uses=PLAN),
    "api:report-list": listing(
        lambda w: {"plan": w.plan.pk},
        uses=PLAN | UNIT,
        body=lambda w: {"plan": w.plan.pk, "period": w.period, "org_unit": w.org_unit.pk},
        body_format="json",
        bad_reference_400=True,
    ),
    "api:actual-list": listing(
        lambda w: {"org_unit": w.org_unit.pk},
        uses=frozenset({"indicator", "org_unit"}),
        body=new_actual,
        body_format="json",
        bad_reference_400=True,
    ),
    "api:budget-execution-list": listing(
        lambda w: {"plan": w.plan.pk},
        uses=frozenset({"plan", "budget_line"}),
        body=new_execution,
        body_format="json",
        bad_reference_400=True,
    ),
    # -- plans ---------------------------------------------------------------------------------
    "plan-detail": plan_page(),
    "plan-dashboard": progress_page(),
    "plan-compare": progress_page(),
    "plan-completeness": progress_page(),
    "budget-page": plan_page(budget_form),
    "plan-reports": plan_page(lambda w: {"period": w.period}),
    "plan-import": plan_page(import_page_upload, "multipart"),
    "api:plan-detail": Rule(uses=PLAN, kwargs=plan_pk),
    "api:plan-progress": Rule(uses=PLAN | UNIT, kwargs=plan_pk, query=progress_query),
    "api:plan-budget-summary": Rule(uses=PLAN, kwargs=plan_pk, query=lambda w: {"period": w.period}),
    "plan-export": Rule(uses=PLAN, kwargs=plan_pk, query=lambda w: {"kind": "targets", "format": "csv"}),
    "import-create": Rule(uses=PLAN, body=import_upload, body_format="multipart"),
    "import-status": Rule(uses=IMPORT, kwargs=import_id),
    "import-confirm": Rule(uses=IMPORT, kwargs=import_id),
    "api:indicator-detail": Rule(uses=frozenset({"indicator"}), kwargs=lambda w: {"pk": w.indicator.pk}),
    # -- figures ---------------------------------------------------------------------------------
    "figures-period": Rule(
        uses=frozenset({"org_unit", "plan", "indicator"}),
        kwargs=lambda w: {"code": w.org_unit.code, "period": w.period},
        query=lambda w: {"plan": w.plan.slug},
        body=period_form,
    ),
    "figures-history": Rule(uses=ACTUAL, kwargs=actual_pk),
    "review-approve": Rule(uses=ACTUAL, kwargs=actual_pk, body=actual_step),
    "review-return": Rule(uses=ACTUAL, kwargs=actual_pk, body=actual_step),
    "review-unlock": Rule(uses=ACTUAL, kwargs=actual_pk, body=actual_step),
    "review-approve-group": Rule(
        uses=ACTUAL, body=lambda w: {"actual": [w.actual.pk], f"version-{w.actual.pk}": w.actual.version}
    ),
    "grid": Rule(uses=PLAN, query=lambda w: {"plan": w.actual.indicator.plan.slug, "period": w.actual.period}),
    "grid-save": Rule(uses=ACTUAL, body=grid_cells, body_format="json"),
    "grid-submit": Rule(uses=ACTUAL, body=grid_cells, body_format="json"),
    "api:actual-detail": Rule(uses=ACTUAL, kwargs=actual_pk, body=actual_step, body_format="json"),
    "api:actual-submit": Rule(uses=ACTUAL, kwargs=actual_pk, body=actual_step, body_format="json"),
    "api:actual-approve": Rule(uses=ACTUAL, kwargs=actual_pk, body=actual_step, body_format="json"),
    "api:actual-return": Rule(uses=ACTUAL, kwargs=actual_pk, body=actual_step, body_format="json"),
    "api:actual-unlock": Rule(uses=ACTUAL, kwargs=actual_pk, body=actual_step, body_format="json"),
    "api:actual-history": Rule(uses=ACTUAL, kwargs=actual_pk),
    # -- budgets ---------------------------------------------------------------------------------
    "api:budget-line-detail": Rule(uses=frozenset({"budget_line"}), kwargs=budget_line_pk),
    "budget-history": Rule(uses=EXECUTION, kwargs=execution_pk),
    "budget-approve": Rule(uses=EXECUTION, kwargs=execution_pk, body=execution_step),
    "budget-return": Rule(uses=EXECUTION, kwargs=execution_pk, body=execution_step),
    "budget-unlock": Rule(uses=EXECUTION, kwargs=execution_pk, body=execution_step),
    "api:budget-execution-detail": Rule(uses=EXECUTION, kwargs=execution_pk, body=execution_step, body_format="json"),
    "api:budget-execution-submit": Rule(uses=EXECUTION, kwargs=execution_pk, body=execution_step, body_format="json"),
    "api:budget-execution-approve": Rule(uses=EXECUTION, kwargs=execution_pk, body=execution_step, body_format="json"),
    "api:budget-execution-return": Rule(uses=EXECUTION, kwargs=execution_pk, body=execution_step, body_format="json"),
    "api:budget-execution-unlock": Rule(uses=EXECUTION, kwargs=execution_pk, body=execution_step, body_format="json"),
    "api:budget-execution-history": Rule(uses=EXECUTION, kwargs=execution_pk),
    # -- reports ---------------------------------------------------------------------------------
    "report-detail": Rule(uses=REPORT, kwargs=report_pk),
    "report-narrative": Rule(uses=REPORT, kwargs=report_pk, body=narrative_form),
    "report-sign": Rule(uses=REPORT, kwargs=report_pk, entitled_role="official"),
    "report-regenerate": Rule(uses=REPORT, kwargs=report_pk),
    "report-pdf": Rule(uses=REPORT, kwargs=report_pk),
    "report-page": Rule(uses=REPORT, kwargs=report_first_page),
    "api:report-detail": Rule(uses=REPORT, kwargs=report_pk),
    "api:report-narrative": Rule(uses=REPORT, kwargs=report_pk, body=narrative, body_format="json"),
    "api:report-regenerate": Rule(uses=REPORT, kwargs=report_pk),
    "api:report-sign": Rule(uses=REPORT, kwargs=report_pk),
    "api:report-pdf": Rule(uses=REPORT, kwargs=report_pk),
}


# The plan builder's writes (issue 14): a plan, an indicator or a line out of reach is 404; one
# within reach (the national viewer's) is refused to anyone but the issuing unit's planners (403).
def new_plan(w: World) -> dict[str, Any]:
    return {"issuer_org_unit": w.org_unit.pk, "title": "Kế hoạch mới", "start_year": 2025, "end_year": 2026}


def plan_write(body: Body | None = None) -> Rule:
    return Rule(uses=PLAN, kwargs=plan_pk, body=body, body_format="json")


def indicator_write(body: Body | None = None) -> Rule:
    return Rule(uses=frozenset({"indicator"}), kwargs=lambda w: {"pk": w.indicator.pk}, body=body, body_format="json")


def line_write(body: Body | None = None) -> Rule:
    return Rule(uses=frozenset({"budget_line"}), kwargs=budget_line_pk, body=body, body_format="json")


def target_text(w: World) -> dict[str, Any]:
    return {"year": w.plan.start_year, "text": "≥80%"}


def revision(w: World) -> dict[str, Any]:
    reasons = {"reason": "Điều chỉnh", "decision_number": "1/QĐ-UBND", "decision_date": "2025-06-01"}
    return {**target_text(w), **reasons}


def new_line(w: World) -> dict[str, Any]:
    return {"line_code": "Z.9", "name": "Dòng mới", "year": w.plan.start_year, "amount_text": "2,5 tỷ"}


RULES.update(
    {
        "api:plan-create": Rule(uses=UNIT, body=new_plan, body_format="json", bad_reference_400=True),
        "api:plan-update": plan_write(lambda w: {"title": "Đổi tên"}),
        "api:plan-issue": plan_write(),
        "api:plan-close": plan_write(),
        "api:plan-delete": plan_write(),
        "api:plan-objective-create": plan_write(lambda w: {"kind": "general", "text": "Mục tiêu"}),
        "api:plan-section-create": plan_write(lambda w: {"number": "9", "title": "Mục mới"}),
        "api:plan-task-create": plan_write(lambda w: {"section": 1, "text": "Nhiệm vụ", "amount_text": "1 tỷ"}),
        "api:plan-agency-pick": plan_write(lambda w: {"name": "Cơ quan mới"}),
        "api:plan-assignment-create": plan_write(lambda w: {"agency": 1, "role": "lead", "text": "Chủ trì"}),
        "api:plan-indicator-create": plan_write(lambda w: {"number": "99", "name": "Chỉ tiêu mới", "unit": "%"}),
        "api:plan-budget-line-create": plan_write(new_line),
        "api:indicator-update": indicator_write(lambda w: {"name": "Đổi tên"}),
        "api:indicator-delete": indicator_write(),
        "api:indicator-baseline": indicator_write(lambda w: {"year": w.plan.start_year - 1, "text": "50"}),
        "api:indicator-target-set": indicator_write(target_text),
        "api:indicator-target-revise": indicator_write(revision),
        "api:indicator-target-split": indicator_write(lambda w: {"year": w.plan.start_year}),
        "api:budget-line-update": line_write(lambda w: {"amount_text": "3 tỷ"}),
        "api:budget-line-delete": line_write(),
        # The builder's pages: a new plan's form offers only the actor's own units (a unit out of
        # reach is the form's error); a plan's builder and its parts are its planners' (404, 403).
        "builder-new": Rule(body=lambda w: {**new_plan(w), "kind": "plan"}),
        "builder": plan_page(lambda w: {**new_plan(w), "kind": "plan", "title": "Đổi tên"}),
        "builder-part": Rule(
            uses=PLAN,
            kwargs=lambda w: {"slug": w.plan.slug, "part": "objective"},
            body=lambda w: {"objective-kind": "general", "objective-text": "Mục tiêu"},
        ),
        "builder-issue": plan_page(),
    }
)


# Child plans (issue 14): a plan implementing the world's plan, issued by the world's unit with the
# world's indicator; a plan out of reach is 404, a unit out of reach the API's 400, anyone but a
# planner of the plan's territory 403.
def new_child(w: World) -> dict[str, Any]:
    years = {"start_year": w.plan.start_year, "end_year": w.plan.end_year}
    return {"org_unit": w.org_unit.pk, "title": "Kế hoạch con", **years, "indicators": [w.indicator.pk]}


CHILD = frozenset({"plan", "org_unit", "indicator"})
RULES.update(
    {
        "child-plan-new": Rule(uses=CHILD, kwargs=plan_slug, body=new_child),
        "api:plan-child-create": Rule(
            uses=CHILD, kwargs=plan_pk, body=new_child, body_format="json", bad_reference_400=True
        ),
    }
)


# Plans read from their documents (issue 14): only the tenant's planners upload, read and confirm
# them; another's document is 404, an upload for a tenant out of reach 400 (the API's reference to
# a tenant it cannot see, the page's form error) or 404.
def document_upload(w: World) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    assert w.tenant is not None
    upload = SimpleUploadedFile("ke-hoach.txt", "KẾ HOẠCH\nPhòng chống dịch".encode(), content_type="text/plain")
    return {"file": upload, "tenant": w.tenant.pk}


def plan_document_pk(w: World) -> dict[str, Any]:
    assert w.plan_document is not None
    return {"pk": w.plan_document.pk}


DOCUMENT = frozenset({"plan_document"})
UPLOAD = Rule(
    uses=frozenset({"tenant"}), listing=True, body=document_upload, body_format="multipart", bad_reference_400=True
)

RULES.update(
    {
        "api:plan-document-list": UPLOAD,
        "api:plan-document-detail": Rule(uses=DOCUMENT, kwargs=plan_document_pk),
        "api:plan-document-confirm": Rule(
            uses=DOCUMENT, kwargs=plan_document_pk, body=lambda w: {"draft": {}}, body_format="json"
        ),
        "plan-document-upload": UPLOAD,
        "plan-document-review": Rule(uses=DOCUMENT, kwargs=plan_document_pk, body=lambda w: {"draft": "{}"}),
    }
)

# --- the URL configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # namespace:name, or the pattern for an unnamed route
    pattern: str
    named: bool = field(default=True)

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")

    @property
    def is_admin(self) -> bool:
        return self.pattern.startswith("admin/")


def routes() -> list[Route]:
    """Every URL pattern, depth first, as `reverse()` names it."""

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> Iterator[Route]:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = ":".join(filter(None, [namespace, entry.namespace or ""]))
                yield from walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                if entry.name:
                    yield Route(":".join(filter(None, [namespace, entry.name])), pattern)
                else:
                    yield Route(pattern, pattern, named=False)

    seen: dict[str, Route] = {}
    for route in walk(get_resolver(), "", ""):
        seen.setdefault(route.key, route)  # the first of two alike names is the one reverse() finds
    return list(seen.values())


def rule_for(route: Route) -> Rule | Public | Admin | None:
    if route.is_admin and route.key not in RULES:
        return Admin()
    return RULES.get(route.key)


# An admin route about one row: change, delete, history, the redirect to change, a user's password.
ADMIN_OBJECT_ROUTE = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/(?:<path:object_id>|<id>)/")


def admin_model(route: Route) -> type[Model] | None:
    """The model of an admin route about one row, if that model's rows belong to a tenant."""
    match = ADMIN_OBJECT_ROUTE.match(route.pattern)
    if match is None:
        return None
    model = apps.get_model(match["app"], match["model"])
    return model if tenant_lookup(model) is not None else None


def tenant_lookup(model: type[Model], depth: int = 0) -> str | None:
    """The lookup from a model's rows to their tenant (through foreign keys), None for shared rows
    (the catalogue, funding sources, groups, login attempts)."""
    if model is Tenant:
        return "pk"
    if model is User:
        return "role_assignments__org_unit__tenant"
    keys = [f for f in model._meta.get_fields() if f.many_to_one and f.concrete and f.related_model is not None]
    for key in keys:
        if key.related_model is Tenant:
            return key.name
    for key in keys if depth < 3 else []:
        related = key.related_model
        assert isinstance(related, type)
        inner = tenant_lookup(related, depth + 1)
        if inner is not None:
            return f"{key.name}__{inner}"
    return None


def sample_path(pattern: str) -> str:
    """A concrete path for a pattern no rule fills (the admin's): each parameter gets a sample value."""
    path = re.sub(r"<(?:\w+:)?\w+>", "1", pattern)
    path = re.sub(r"\(\?P<\w+>([^)|]*)[^)]*\)", r"\1", path)  # a regex group: its first alternative
    return "/" + path.replace("^", "").replace("$", "")
