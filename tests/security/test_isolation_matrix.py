"""The isolation matrix: every route of the URL configuration × every role of Lào Cai (planner,
reviewer, official, station reporter; its two station reporters also against each other's units
and a sibling station's; the national viewer's writes) × method (all five on the API, GET and POST
on pages), asked for another tenant's or a sibling unit's objects; and the admin site, for a demo
role (not staff) and for a Lào Cai tenant admin asking for Bắc Kạn's rows.

A request naming an object out of reach is refused (403 or 404; 405 where the method is not
allowed), its response holds none of that world's strings, and nothing is written. A route that
lists what the actor may see answers with none of the world. Routes come from
`django.urls.get_resolver()`, so a route added later is in the matrix at once; one without a rule
in tests/security/isolation_rules.py fails ("route X has no isolation rule").
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Model
from django.test import Client, RequestFactory, override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from django.utils.html import escape
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from weasyprint import HTML

from budgets.models import BudgetExecution, BudgetExecutionEvent, BudgetLine
from budgets.services import budget_execution_create, budget_execution_submit
from healthplans.models import Agency, AuditEvent, Notification, OrgUnit, Role, RoleAssignment, Tenant, User
from healthplans.spreadsheets.jobs import import_upload
from healthplans.spreadsheets.registry import export_bytes
from indicators.definitions import target_revise
from indicators.models import Actual, ActualEvent, Baseline, Indicator, Target
from indicators.services import actual_create, actual_submit, is_entry_unit
from plans.models import Plan
from reporting.models import PlanDocument, Report, ReportStatus
from tests.security.isolation_rules import (
    ABSENT,
    METHODS,
    RULES,
    SCENARIOS,
    Admin,
    Public,
    Route,
    Rule,
    Scenario,
    World,
    admin_model,
    routes,
    rule_for,
    sample_path,
    tenant_lookup,
)

# Each world's figure holds a value of its own, found as the API writes it or as pages do.
VALUES = {
    "other-tenant": Decimal("87.6543"),
    "sibling-district": Decimal("81.2345"),
    "sibling-city": Decimal("83.4567"),
    "sibling-station": Decimal("85.6789"),
}
# Rows whose number must not change when a refused request is made.
COUNTED: list[type[Model]] = [
    Actual,
    ActualEvent,
    BudgetLine,
    BudgetExecution,
    BudgetExecutionEvent,
    Report,
    PlanDocument,
    Notification,
    Target,
    Baseline,
    Indicator,
    Plan,
    OrgUnit,
    RoleAssignment,
    Agency,
    AuditEvent,
]
# Pages are what a browser sends (links and forms): their views handle GET and POST, and answer any
# other method as one of these; the API's views take each method separately, so it gets them all.
PAGE_METHODS = {"GET", "POST"}
# The admin site turns away every user who is not staff alike: one demo role stands for all.
ADMIN_ACTOR = "laocai.planner"
# Lào Cai's tenant admin, made for the matrix: staff, with every permission on the project's models.
TENANT_ADMIN = "laocai.tenantadmin"
OWN_TENANT_ADMIN = "backan.tenantadmin"  # the control: Bắc Kạn's rows open for Bắc Kạn's admin
PROJECT_APPS = ["healthplans", "plans", "indicators", "budgets", "reporting"]
# Who may see each world whole: the control that its objects are real.
ENTITLED = {"other-tenant": "backan.planner"}


def entry_indicators(plan: Plan, unit: OrgUnit) -> list[Indicator]:
    indicators = Indicator.objects.filter(plan=plan).select_related("plan__issuer_org_unit").order_by("order")
    return [indicator for indicator in indicators if is_entry_unit(indicator, unit)]


def build_world(
    name: str,
    *,
    plan_slug: str,
    unit_code: str,
    period: str,
    figure_by: str,
    budget_by: str | None,
    foreign_names: bool,
) -> World:
    """A submitted figure, budget lines with submitted amounts, a ready report and a previewed
    import, each carrying a string of its own; `foreign_names`: the plan's, the unit's and the
    indicators' names are the world's own too (another tenant)."""
    plan = Plan.objects.select_related("tenant", "issuer_org_unit").get(slug=plan_slug)
    unit = OrgUnit.objects.get(code=unit_code)
    marked, free = entry_indicators(plan, unit)[:2]
    figure_user = User.objects.get(username=figure_by)
    value = VALUES[name]
    actual = actual_create(
        indicator=marked,
        org_unit=unit,
        period=period,
        value=value,
        note=f"isolation-{name}-note",
        by=figure_user,
    )
    actual = actual_submit(actual=actual, version=actual.version, by=figure_user)
    markers = [f"isolation-{name}-note", str(value), str(value).replace(".", ",")]
    world = World(plan=plan, indicator=free, org_unit=unit, period=period, actual=actual, markers=markers)
    if foreign_names:
        visible_elsewhere = set(Indicator.objects.exclude(plan__tenant=plan.tenant).values_list("name", flat=True))
        own_names = [i.name for i in (marked, free) if i.name not in visible_elsewhere]
        markers += [plan.title, unit.name, *own_names]
        if plan.tenant is not None:
            # The tenant's agencies bear common names ("Sở Y tế"): one with a name of its own.
            Agency.objects.create(tenant=plan.tenant, code=f"isolation-{name}", name=f"isolation-{name}-agency")
            markers += [plan.tenant.name, f"isolation-{name}-agency"]
        Notification.objects.create(user=figure_user, text=f"isolation-{name}-notification")
        markers.append(f"isolation-{name}-notification")
    if budget_by is None:
        return world
    budget_user = User.objects.get(username=budget_by)
    year = int(period[:4])
    lines = [
        BudgetLine.objects.create(
            tenant=plan.tenant,
            plan=plan,
            order=9000 + n,
            code=f"iso.{n}",
            name=f"isolation-{name}-line-{n}",
            year=year,
            amount=5_000_000,
        )
        for n in (1, 2)
    ]
    execution = budget_execution_create(
        budget_line=lines[1],
        period=str(year),
        allocated=4_000_000,
        disbursed=1_000_000,
        note=f"isolation-{name}-amounts",
        by=budget_user,
    )
    world.execution = budget_execution_submit(execution=execution, version=execution.version, by=budget_user)
    world.budget_line = lines[0]
    report = Report.objects.create(
        tenant=plan.tenant,
        plan=plan,
        period=period,
        org_unit=plan.issuer_org_unit,
        version=1,
        status=ReportStatus.READY,
        verification_code=f"ISO{name.replace('-', '')[:12].upper()}",
        document_number=f"isolation-{name}-number",
        narrative={"achievements": f"isolation-{name}-narrative"},
    )
    # A real PDF: the signing page counts the pages an official is about to sign.
    report.pdf.save("isolation.pdf", ContentFile(HTML(string=f"<p>isolation-{name}</p>").write_pdf()), save=True)
    world.report = report
    world.import_file = export_bytes(fetched_by=budget_user, plan=plan, kind="targets", fmt="csv")
    preview = import_upload(plan=plan, kind="targets", content=world.import_file, by=budget_user, dry_run=True)
    assert preview.status == "valid", preview.errors
    world.import_id = preview.id
    # A document read into its draft, ready to confirm (made as the reading task leaves it).
    assert plan.tenant is not None
    world.plan_document = PlanDocument.objects.create(
        tenant=plan.tenant,
        uploaded_by=budget_user,
        name=f"isolation-{name}-document.docx",
        status=PlanDocument.Status.READY,
        progress=100,
        draft={"plan": {"title": f"isolation-{name}-draft"}, "indicators": []},
    )
    markers += [f"isolation-{name}-document.docx", f"isolation-{name}-draft"]
    markers += [f"isolation-{name}-line-1", f"isolation-{name}-line-2", f"isolation-{name}-amounts"]
    markers += [f"isolation-{name}-number", f"isolation-{name}-narrative"]
    return world


@dataclass
class Setup:
    worlds: dict[str, World]
    sessions: dict[str, str]  # username → session cookie
    tokens: dict[str, str]  # username → API token
    admin_rows: dict[type[Model], int]  # model → the pk of one of Bắc Kạn's rows


def build_worlds() -> dict[str, World]:
    return {
        "other-tenant": build_world(
            "other-tenant",
            plan_slug="backan-gsd-2025-2030",
            unit_code="backan-ba-be-cho-ra-tyt",
            period="2025",
            figure_by="backan.planner",
            budget_by="backan.planner",
            foreign_names=True,
        ),
        "sibling-district": build_world(
            "sibling-district",
            plan_slug="muongkhuong-de-an-07-2023",
            unit_code="muongkhuong-tt-tyt",
            period="2023",
            figure_by="muongkhuong.station",
            budget_by="laocai.planner",
            foreign_names=False,
        ),
        "sibling-city": build_world(
            "sibling-city",
            plan_slug="laocai-city-de-an-07-2024",
            unit_code="laocai-city-ta-phoi-tyt",
            period="2024H1",
            figure_by="laocai.station",
            budget_by="laocai.planner",
            foreign_names=False,
        ),
        "sibling-station": build_world(
            "sibling-station",
            plan_slug="laocai-city-de-an-07-2024",
            unit_code="laocai-city-bac-cuong-tyt",
            period="2024H1",
            figure_by="laocai.planner",
            budget_by=None,
            foreign_names=False,
        ),
    }


def build_admin_world() -> dict[type[Model], int]:
    """Lào Cai's and Bắc Kạn's tenant admins, and one of Bắc Kạn's rows of every model the admin
    can be asked for, one Bắc Kạn's admin sees (a Bắc Kạn user with a role and a notification join
    the rows the worlds made)."""
    admins = {}
    for username, province in ((TENANT_ADMIN, "laocai-2025"), (OWN_TENANT_ADMIN, "thainguyen")):
        admins[username] = User.objects.create_user(username, is_staff=True)
        unit = OrgUnit.objects.get(code=province)
        RoleAssignment.objects.create(user=admins[username], org_unit=unit, role=Role.TENANT_ADMIN)
        admins[username].user_permissions.set(Permission.objects.filter(content_type__app_label__in=PROJECT_APPS))
    reporter = User.objects.create_user("backan.isolation")
    unit = OrgUnit.objects.get(code="backan-ba-be-banh-trach-tyt")
    RoleAssignment.objects.create(user=reporter, org_unit=unit, role=Role.STATION_REPORTER)
    Notification.objects.create(user=reporter, text="isolation-admin-notification")
    tenant = Tenant.objects.get(slug="thai-nguyen")
    # A revised target of Bắc Kạn's issued plan (its text unchanged: the worlds' targets stay as they are).
    target = Target.objects.filter(indicator__plan__tenant=tenant).order_by("pk").first()
    assert target is not None
    target_revise(
        target=target,
        text=target.text,
        reason="isolation",
        decision_number="1/QĐ-UBND",
        decision_date=date(2025, 6, 1),
        by=User.objects.get(username="backan.planner"),
    )
    as_own_admin = RequestFactory().get("/admin/")
    as_own_admin.user = admins[OWN_TENANT_ADMIN]
    rows: dict[type[Model], int] = {}
    for route in routes():
        model = admin_model(route)
        if model is None or model in rows:
            continue
        lookup = tenant_lookup(model)
        assert lookup is not None  # admin_model() keeps only models whose rows belong to a tenant
        candidates = model._default_manager.filter(**{lookup: tenant.pk})
        if model._meta.app_label in PROJECT_APPS:
            candidates = candidates.filter(pk__in=admin.site._registry[model].get_queryset(as_own_admin).values("pk"))
        row = candidates.order_by("-pk").values_list("pk", flat=True).first()
        assert row is not None, f"no Bắc Kạn row of {model.__name__} to ask the admin for: add one in build_admin_world"
        rows[model] = row
    return rows


@pytest.fixture(scope="module")
def matrix_setup(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Setup]:
    """Built once for the module in a transaction rolled back at its end; every test runs in a
    savepoint inside it, as Django's setUpTestData does. Each actor logs in once (a session for
    the pages, a token for the API, as real clients send it)."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("isolation-media"))
    with django_db_blocker.unblock(), media, transaction.atomic():
        worlds = build_worlds()
        admin_rows = build_admin_world()
        entitled = {"laocai.planner", *ENTITLED.values()}
        roles = {rule.entitled_role for rule in RULES.values() if isinstance(rule, Rule)}
        entitled = {name.replace(".planner", f".{role}") for name in entitled for role in roles}
        actors = {s.actor for s in SCENARIOS} | {ADMIN_ACTOR, TENANT_ADMIN, OWN_TENANT_ADMIN, *entitled}
        users = User.objects.filter(username__in=actors)
        sessions, tokens = {}, {}
        for user in users:
            client = Client()
            client.force_login(user)
            sessions[user.username] = client.cookies[settings.SESSION_COOKIE_NAME].value
            tokens[user.username] = Token.objects.get_or_create(user=user)[0].key
        yield Setup(worlds, sessions, tokens, admin_rows)
        transaction.set_rollback(True)


# --- the cases --------------------------------------------------------------------------------------


def refused(rule: Rule, scenario: Scenario, method: str) -> bool:
    """Whether the request names an object out of the actor's reach (or, for the national
    viewer, whether it is a write)."""
    if scenario.writes_only:
        return True
    return bool(rule.uses - scenario.reachable) and not (rule.listing and method == "GET")


def wanted(route: Route, rule: Rule, scenario: Scenario, method: str) -> bool:
    if rule.uses & ABSENT.get(scenario.world, frozenset()):
        return False
    if not route.is_api and method not in PAGE_METHODS:
        return False
    if scenario.writes_only:
        return method != "GET" and bool(rule.uses)
    # Writes on objects within reach are the actor's own business; their reads must hold none of the world.
    return method == "GET" or refused(rule, scenario, method) or not rule.uses


def matrix() -> Iterator[Any]:
    for route in routes():
        rule = rule_for(route)
        if rule is None:
            yield pytest.param(route, None, "GET", id=f"{route.key}-NO-RULE")
        elif isinstance(rule, Admin):
            yield pytest.param(route, Scenario(ADMIN_ACTOR, "other-tenant"), "GET", id=f"{route.key}-{ADMIN_ACTOR}-GET")
            for method in ("GET", "POST") if admin_model(route) else ("GET",):
                scenario = Scenario(TENANT_ADMIN, "other-tenant")
                yield pytest.param(route, scenario, method, id=f"{route.key}-{scenario.id}-{method}")
        elif isinstance(rule, Rule):
            for scenario in SCENARIOS:
                for method in METHODS:
                    if wanted(route, rule, scenario, method):
                        yield pytest.param(route, scenario, method, id=f"{route.key}-{scenario.id}-{method}")


CASES = list(matrix())


def test_every_route_has_an_isolation_rule() -> None:
    missing = [route.key for route in routes() if rule_for(route) is None]
    assert not missing, "\n".join(
        f"route {key} has no isolation rule (tests/security/isolation_rules.py)" for key in missing
    )


def test_matrix_size(capsys: Any) -> None:
    """The numbers the README gives; every app route is asked by each of Lào Cai's roles."""
    every = routes()
    public = [r for r in every if isinstance(rule_for(r), Public)]
    pairs = {(case.values[0], case.values[1].actor) for case in CASES if case.values[1] is not None}
    app_pairs = {(route.key, actor) for route, actor in pairs if not route.is_admin}
    admin_pairs = {(route.key, actor) for route, actor in pairs if route.is_admin}
    app_routes = {key for key, _actor in app_pairs}
    admin_routes = {key for key, _actor in admin_pairs}
    with capsys.disabled():
        print(
            f"\nisolation matrix: {len(every)} routes: {len(app_routes)} app routes × roles = {len(app_pairs)} pairs,"
            f" {len(admin_routes)} admin routes × roles = {len(admin_pairs)} pairs, {len(public)} public routes;"
            f" {len(CASES)} cases (route × role × world × method)"
        )
    for route in app_routes:
        roles = {actor for key, actor in app_pairs if key == route}
        assert {"laocai.planner", "laocai.reviewer", "laocai.official", "laocai.station"} <= roles, route


# --- one request ----------------------------------------------------------------------------------


def fingerprint(world: World) -> tuple[Any, ...]:
    """Row counts of every table a write could touch, and the state of the world's objects, in one query."""
    parts = [f"(SELECT count(*) FROM {model._meta.db_table})" for model in COUNTED]
    params: list[Any] = []

    def state(model: type[Model], pk: int, columns: str) -> None:
        parts.append(f"(SELECT ({columns})::text FROM {model._meta.db_table} WHERE id = %s)")
        params.append(pk)

    state(Actual, world.actual.pk, "version, status, value, note")
    parts.append(
        f"(SELECT string_agg(t.id || ':' || t.comparator || t.value, ',' ORDER BY t.id) FROM {Target._meta.db_table} t"
        f" JOIN {Indicator._meta.db_table} i ON i.id = t.indicator_id WHERE i.plan_id = %s)"
    )
    params.append(world.plan.pk)
    if world.execution is not None:
        state(BudgetExecution, world.execution.pk, "version, status, allocated, disbursed, note")
    if world.report is not None:
        state(Report, world.report.pk, "status, narrative, document_number, signed_at, sha256")
    if world.plan_document is not None:
        state(PlanDocument, world.plan_document.pk, "status, draft, plan_id")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def path_of(route: Route, rule: Rule | Admin, setup: Setup, world: World) -> str:
    if isinstance(rule, Admin):
        model = admin_model(route)
        if model is None:
            return sample_path(route.pattern)
        pattern = re.sub(r"<path:object_id>|<id>", str(setup.admin_rows[model]), route.pattern, count=1)
        return sample_path(pattern)
    if not route.named:
        return sample_path(route.pattern)
    return reverse(route.key, kwargs=rule.kwargs(world) if rule.kwargs else None)


def send(route: Route, rule: Rule | Admin, actor: str, method: str, world: World, setup: Setup) -> Any:
    path = path_of(route, rule, setup, world)
    query = rule.query(world) if isinstance(rule, Rule) and rule.query else {}
    body = rule.body(world) if isinstance(rule, Rule) and rule.body and method != "GET" else {}
    if isinstance(rule, Admin) and method == "POST":
        body = {"post": "yes"}  # confirms a deletion; a change form takes it as an (invalid) edit
    body_format = rule.body_format if isinstance(rule, Rule) else "form"
    if route.is_api:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {setup.tokens[actor]}")
        if method == "GET":
            return api.get(path, query)
        url = f"{path}?{urlencode(query, doseq=True)}" if query else path
        return getattr(api, method.lower())(url, body, format="json" if body_format == "json" else "multipart")
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = setup.sessions[actor]
    if method == "GET":
        return client.get(path, query)
    url = f"{path}?{urlencode(query, doseq=True)}" if query else path
    if body_format == "json":
        return client.generic(method, url, json.dumps(body), content_type="application/json")
    return client.generic(method, url, encode_multipart(BOUNDARY, body), content_type=MULTIPART_CONTENT)


def content_of(response: Any) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", errors="replace") + " " + response.get("Location", "")


def marker_forms(marker: str) -> set[str]:
    """A string as a page (HTML-escaped) or a JSON answer (with or without \\u escapes) would hold it."""
    return {marker, escape(marker), json.dumps(marker)[1:-1], json.dumps(marker, ensure_ascii=False)[1:-1]}


def allowed_statuses(route: Route, rule: Rule, scenario: Scenario, method: str) -> set[int] | None:
    """The answers that refuse the request; None where it need not be refused."""
    if scenario.writes_only:
        # The national viewer may see the object: the API refuses the write with a 4xx; a page may
        # also show the form again with the reason, or redirect with it as a message.
        return set(range(400, 500)) if route.is_api else {200, 302, 400, 403, 404, 405}
    if refused(rule, scenario, method):
        return {403, 404, 405} | ({400} if rule.bad_reference_400 and method != "GET" else set())
    return None


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "scenario", "method"), CASES)
def test_isolation(route: Route, scenario: Scenario | None, method: str, matrix_setup: Setup) -> None:
    rule = rule_for(route)
    missing = f"route {route.key} ({route.pattern}) has no isolation rule: add one to tests/security/isolation_rules.py"
    assert scenario is not None, missing
    assert isinstance(rule, (Rule, Admin)), missing
    world = matrix_setup.worlds[scenario.world]
    before = fingerprint(world)
    response = send(route, rule, scenario.actor, method, world, matrix_setup)
    body = content_of(response)
    status = response.status_code
    where = f"{method} {route.key} as {scenario.actor} on {scenario.world}'s objects"
    if isinstance(rule, Admin):
        if scenario.actor == ADMIN_ACTOR:
            assert status == 302, f"{where}: {status}"
            assert response["Location"].startswith("/admin/login/"), f"{where}: {status}"
        elif admin_model(route):
            # Django's admin answers a row outside get_queryset() with a redirect to the index.
            assert status in {302, 403, 404}, f"{where}: answered {status}: {body[:300]}"
            if status == 302:
                assert response["Location"] == "/admin/" or response["Location"].endswith("/change/"), where
        else:
            assert status < 500, f"{where}: answered {status}"
    else:
        allowed = allowed_statuses(route, rule, scenario, method)
        if allowed is None:
            assert status < 500, f"{where}: answered {status}"
        else:
            assert status in allowed, f"{where}: answered {status}, not one of {sorted(allowed)}: {body[:300]}"
    if not scenario.writes_only:
        leaked = sorted(marker for marker in world.markers if any(form in body for form in marker_forms(marker)))
        assert not leaked, f"{where}: the response holds {leaked}"
    assert fingerprint(world) == before, f"{where}: something was written"


def test_worlds_are_real_to_those_who_may_see_them(matrix_setup: Setup) -> None:
    """The control: the URLs the matrix refuses answer 200 to a user entitled to the world (the
    admin's change pages of Bắc Kạn's rows to Bắc Kạn's tenant admin), and every marker is found in
    some answer, so the refusals and the absent markers mean something."""
    problems: list[str] = []
    for name, world in matrix_setup.worlds.items():
        viewer = ENTITLED.get(name, "laocai.planner")
        seen: list[str] = []
        for route in routes():
            rule = rule_for(route)
            if not isinstance(rule, Rule):
                continue
            if rule.uses & ABSENT.get(name, frozenset()):
                continue
            entitled = viewer.replace(".planner", f".{rule.entitled_role}")
            response = send(route, rule, entitled, "GET", world, matrix_setup)
            if response.status_code == 405:
                continue
            if response.status_code != 200:
                problems.append(f"{route.key} for {viewer} on {name}: {response.status_code}")
            seen.append(content_of(response))
        if name == "other-tenant":
            for route in routes():
                model = admin_model(route)
                if model is not None and model._meta.app_label in PROJECT_APPS and route.key.endswith("_change"):
                    response = send(route, Admin(), OWN_TENANT_ADMIN, "GET", world, matrix_setup)
                    if response.status_code != 200:
                        problems.append(f"{route.key} for {OWN_TENANT_ADMIN}: {response.status_code}")
        unseen = [m for m in world.markers if not any(form in page for page in seen for form in marker_forms(m))]
        if unseen:
            problems.append(f"{name}: markers found in no answer: {unseen}")
    assert not problems, "\n".join(problems)
