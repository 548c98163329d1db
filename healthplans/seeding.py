"""Loads fixtures/ (the org-unit tree, the five seed plans, their parents, the demo users).

Idempotent: every row is matched on its natural key and updated in place, rows that the
fixtures no longer hold are removed, and a second run changes nothing.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import models, transaction

from budgets.models import BudgetLine, FundingSource
from healthplans.adminunits import LoadSummary as AdminUnitsSummary
from healthplans.adminunits import admin_units_load
from healthplans.models import Agency, OrgUnit, RoleAssignment, Tenant, User
from healthplans.vnnumber import Figure, parse_figure, parse_money
from indicators.models import Baseline, CatalogueMeasure, Direction, Indicator, Target, UnitKind
from plans.models import Assignment, Objective, Plan, Section, Task

DEFAULT_COMPARATOR = {Direction.HIGHER: ">=", Direction.LOWER: "<=", Direction.KEEP: "="}


class SeedError(ValueError):
    """A fixture that cannot be loaded; the message names the file and the entry."""


@dataclass
class SeedSummary:
    counts: dict[str, int] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)  # what a reload changed (units the package corrected)

    def add(self, name: str, number: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + number


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def _upsert(model: type[models.Model], keys: dict[str, Any], values: dict[str, Any]) -> Any:
    """update_or_create that writes only when something differs, so a reload touches nothing."""
    obj = model._default_manager.filter(**keys).first()
    if obj is None:
        return model._default_manager.create(**keys, **values)
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=changed)
    return obj


def _prune(queryset: models.QuerySet[Any], keep_ids: set[int]) -> None:
    queryset.exclude(pk__in=keep_ids).delete()


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def load_tenants_and_units(data: dict[str, Any]) -> AdminUnitsSummary:
    """Today's and the former units from `vietnamadminunits`, with the fixtures' codes for the
    units the documents name, and the documents' own facilities beneath them."""
    for row in data["tenants"]:
        if row.get("formerly"):
            Tenant.objects.filter(slug=row["formerly"]).exclude(
                slug__in=Tenant.objects.filter(slug=row["slug"]).values("slug")
            ).update(slug=row["slug"])
    official = {value: key for key, value in data["codes"].items()}

    def place_facilities() -> None:
        for row in data["facilities"]:
            for commune in row.get("stations", []):
                unit = OrgUnit.objects.get(code=commune)
                _facility(f"{commune}-tyt", f"Trạm Y tế {unit.name[:1].lower()}{unit.name[1:]}", unit, "station")
            if row.get("code"):
                _facility(row["code"], row["name"], OrgUnit.objects.get(code=row["parent"]), row["kind"])

    return admin_units_load(
        codes=official,
        tenant_names={row["slug"]: row["name"] for row in data["tenants"]},
        before_2025=place_facilities,
    )


def _facility(code: str, name: str, parent: OrgUnit, kind: str) -> None:
    """A facility of the documents, beneath the unit it served (created open; the 2025 change ends
    it with its unit)."""
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is None:
        OrgUnit.objects.add_child(
            OrgUnit.objects.get(pk=parent.pk),
            create_kwargs={
                "code": code,
                "name": name,
                "level": OrgUnit.Level.FACILITY,
                "facility_kind": kind,
                "tenant": parent.tenant,
            },
        )
    else:
        _upsert(OrgUnit, {"code": code}, {"name": name, "facility_kind": kind})


def load_users(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        user = User.objects.filter(username=row["username"]).first() or User(username=row["username"])
        superuser = bool(row.get("superuser"))
        staff = superuser or any(role["role"] == "tenant_admin" for role in row.get("roles", []))
        if (
            user.pk is None
            or user.is_superuser != superuser
            or user.is_staff != staff
            or not user.check_password(settings.DEMO_PASSWORD)
        ):
            user.is_superuser, user.is_staff = superuser, staff
            user.set_password(settings.DEMO_PASSWORD)
            user.save()
        keep = {
            _upsert(
                RoleAssignment,
                {"user": user, "role": role["role"], "org_unit": OrgUnit.objects.get(code=role["org_unit"])},
                {},
            ).pk
            for role in row.get("roles", [])
        }
        _prune(user.role_assignments.all(), keep)


class PlanLoader:
    """One plan file: the plan and everything under it."""

    def __init__(self, source: str, data: dict[str, Any]) -> None:
        self.source = source
        self.data = data
        self.tenant = Tenant.objects.get(slug=data["tenant"]) if data.get("tenant") else None
        self.agencies: dict[str, Agency] = {}

    def error(self, what: str, exc: Exception) -> SeedError:
        return SeedError(f"{self.source}: {what}: {exc}")

    def plan_values(self) -> dict[str, Any]:
        data = self.data
        parent = Plan.objects.get(slug=data["parent"]) if data.get("parent") else None
        return {
            "tenant": self.tenant,
            "kind": data.get("kind", Plan.Kind.PLAN),
            "document_number": data.get("document_number") or "",
            "issuer": data["issuer"],
            "issuer_parent": data.get("issuer_parent") or "",
            "issuer_org_unit": OrgUnit.objects.get(code=data["issuer_org_unit"]),
            "place": data.get("place") or "",
            "issued_on": _date(data.get("issued_on")),
            "issued_text": data.get("issued_text") or "",
            "title": data["title"],
            "start_year": data["start_year"],
            "end_year": data["end_year"],
            "vision_year": data.get("vision_year"),
            "signer_name": data.get("signer_name") or "",
            "signer_title": data.get("signer_title") or "",
            "signer_authority": data.get("signer_authority") or "",
            "reporting_frequencies": data.get("reporting_frequencies") or [],
            "frequency_text": data.get("frequency_text") or "",
            "parent": parent,
            "legal_bases": data.get("legal_bases") or [],
            "recipients": data.get("recipients") or [],
            "source": data.get("source") or "",
        }

    def load(self) -> Plan:
        plan: Plan = _upsert(Plan, {"slug": self.data["slug"]}, self.plan_values())
        for entry in self.data.get("catalogue") or []:
            _upsert(
                CatalogueMeasure,
                {"code": entry["code"]},
                {"name": entry["name"], "unit_kind": entry.get("unit_kind", UnitKind.OTHER)},
            )
        self.load_agencies()
        self.load_objectives(plan)
        sections = self.load_sections(plan)
        self.load_assignments(plan)
        self.load_indicators(plan)
        self.load_budget(plan, sections)
        return plan

    def load_agencies(self) -> None:
        if self.tenant is None:
            return
        for row in self.data.get("agencies") or []:
            self.agencies[row["code"]] = _upsert(
                Agency,
                {"tenant": self.tenant, "code": row["code"]},
                {"name": row["name"], "kind": row.get("kind") or Agency.Kind.OTHER},
            )

    def agency(self, code: str | None) -> Agency | None:
        if not code:
            return None
        if code not in self.agencies:
            raise SeedError(f"{self.source}: unknown agency code {code!r}")
        return self.agencies[code]

    def load_objectives(self, plan: Plan) -> None:
        keep = {
            _upsert(Objective, {"plan": plan, "order": order}, {"kind": row["kind"], "text": row["text"]}).pk
            for order, row in enumerate(self.data.get("objectives") or [], start=1)
        }
        _prune(plan.objectives.all(), keep)

    def load_sections(self, plan: Plan) -> dict[str, Section]:
        """Sections in document order; by number, the first of a number (000 repeats a "4")."""
        ordered: list[Section] = []
        keep_tasks: set[int] = set()

        def walk(rows: list[dict[str, Any]], parent: Section | None) -> None:
            for row in rows:
                section = _upsert(
                    Section,
                    {"plan": plan, "order": len(ordered) + 1},
                    {"number": str(row["number"]), "title": row.get("title") or "", "parent": parent},
                )
                ordered.append(section)
                for order, task in enumerate(row.get("tasks") or [], start=1):
                    amount_text = task.get("amount_text") or ""
                    try:
                        amount = parse_money(amount_text) if amount_text else None
                    except ValueError as exc:
                        raise self.error(f"task {row['number']}.{order}", exc) from exc
                    keep_tasks.add(
                        _upsert(
                            Task,
                            {"section": section, "order": order},
                            {
                                "text": task["text"],
                                "lead": self.agency(task.get("lead")),
                                "amount": amount,
                                "amount_text": amount_text,
                            },
                        ).pk
                    )
                walk(row.get("sections") or [], section)

        walk(self.data.get("sections") or [], None)
        _prune(Task.objects.filter(section__plan=plan), keep_tasks)
        _prune(plan.sections.all(), {section.pk for section in ordered})
        by_number: dict[str, Section] = {}
        for section in ordered:
            by_number.setdefault(section.number, section)
        return by_number

    def load_assignments(self, plan: Plan) -> None:
        keep = set()
        for order, row in enumerate(self.data.get("assignments") or [], start=1):
            agency = self.agency(row["agency"])
            keep.add(
                _upsert(
                    Assignment,
                    {"plan": plan, "order": order},
                    {
                        "number": str(row.get("number") or ""),
                        "agency": agency,
                        "role": row["role"],
                        "text": row["text"],
                    },
                ).pk
            )
        _prune(plan.assignments.all(), keep)

    def figure(self, indicator: dict[str, Any], text: str) -> Figure:
        try:
            return parse_figure(text)
        except ValueError as exc:
            raise self.error(f"indicator {indicator['number']}", exc) from exc

    @staticmethod
    def scaled(figure: Figure, unit_kind: str) -> Decimal:
        # "108/108" of a percentage is 100 %; of a count it is the count.
        if figure.denominator is not None and unit_kind == UnitKind.PERCENT:
            return figure.value * 100 / figure.denominator
        return figure.value

    def load_indicators(self, plan: Plan) -> None:
        keep: set[int] = set()
        for order, row in enumerate(self.data.get("indicators") or [], start=1):
            catalogue = CatalogueMeasure.objects.get(code=row["catalogue"]) if row.get("catalogue") else None
            indicator = _upsert(
                Indicator,
                {"plan": plan, "number": str(row["number"])},
                {
                    "tenant": self.tenant,
                    "order": order,
                    "name": row["name"],
                    "group": row.get("group") or "",
                    "unit": row.get("unit") or "",
                    "unit_kind": row["unit_kind"],
                    "direction": row["direction"],
                    "rollup": row["rollup"],
                    "entry_level": row["entry_level"],
                    "catalogue": catalogue,
                },
            )
            keep.add(indicator.pk)
            self.load_baseline(indicator, row)
            self.load_targets(indicator, row)
        _prune(plan.indicators.all(), keep)

    def load_baseline(self, indicator: Indicator, row: dict[str, Any]) -> None:
        baseline = row.get("baseline")
        if not baseline:
            Baseline.objects.filter(indicator=indicator).delete()
            return
        figure = self.figure(row, str(baseline["text"]))
        _upsert(
            Baseline,
            {"indicator": indicator},
            {
                "year": baseline["year"],
                "comparator": figure.comparator or "",
                "value": self.scaled(figure, indicator.unit_kind),
                "text": str(baseline["text"]),
            },
        )

    def load_targets(self, indicator: Indicator, row: dict[str, Any]) -> None:
        keep = set()
        for target in row.get("targets") or []:
            figure = self.figure(row, str(target["text"]))
            stated = target.get("comparator")
            if figure.comparator and stated and stated != figure.comparator:
                raise SeedError(
                    f"{self.source}: indicator {row['number']}: comparator {stated!r} contradicts "
                    f"the text {target['text']!r}"
                )
            comparator = figure.comparator or stated or DEFAULT_COMPARATOR[Direction(indicator.direction)]
            org_unit = OrgUnit.objects.get(code=target["org_unit"]) if target.get("org_unit") else None
            keep.add(
                _upsert(
                    Target,
                    {"indicator": indicator, "year": target["year"], "org_unit": org_unit},
                    {
                        "tenant": self.tenant,
                        "comparator": comparator,
                        "value": self.scaled(figure, indicator.unit_kind),
                        "text": str(target["text"]),
                    },
                ).pk
            )
        _prune(indicator.targets.all(), keep)

    def load_budget(self, plan: Plan, sections: dict[str, Section]) -> None:
        keep: set[int] = set()

        def walk(rows: list[dict[str, Any]], parent: BudgetLine | None) -> None:
            for row in rows:
                try:
                    amount = parse_money(str(row["amount_text"]))
                except ValueError as exc:
                    raise self.error(f"budget line {row['code']}", exc) from exc
                funding = FundingSource.objects.get(code=row["funding_source"]) if row.get("funding_source") else None
                line = _upsert(
                    BudgetLine,
                    {"plan": plan, "code": str(row["code"])},
                    {
                        "tenant": self.tenant,
                        "parent": parent,
                        "order": len(keep) + 1,
                        "name": row["name"],
                        "year": row["year"],
                        "agency": self.agency(row.get("agency")),
                        "funding_source": funding,
                        "amount": amount,
                        "amount_text": str(row["amount_text"]),
                        "task_section": sections.get(str(row["task"])) if row.get("task") else None,
                    },
                )
                keep.add(line.pk)
                walk(row.get("children") or [], line)

        walk(self.data.get("budget_lines") or [], None)
        _prune(plan.budget_lines.all(), keep)


@transaction.atomic
def seed_all(fixtures_dir: Path | None = None) -> SeedSummary:
    root = fixtures_dir or Path(settings.FIXTURES_DIR)
    summary = SeedSummary()
    units = load_tenants_and_units(read_yaml(root / "org_units.yaml"))
    summary.add("units created", units.created)
    summary.add("units updated", units.updated)
    summary.changes += units.changes
    for row in read_yaml(root / "funding_sources.yaml"):
        _upsert(FundingSource, {"code": row["code"]}, {"name": row["name"]})
    for row in read_yaml(root / "catalogue.yaml"):
        _upsert(CatalogueMeasure, {"code": row["code"]}, {"name": row["name"], "unit_kind": row["unit_kind"]})
    for row in read_yaml(root / "plans" / "parents.yaml"):
        PlanLoader("parents.yaml", row).load()
        summary.add("parent plans")
    for path in sorted((root / "plans").glob("[0-9][0-9][0-9]_*.yaml")):
        plan = PlanLoader(path.name, read_yaml(path)).load()
        summary.add("plans")
        summary.add("indicators", plan.indicators.count())
        summary.add("targets", Target.objects.filter(indicator__plan=plan).count())
    load_users(read_yaml(root / "users.yaml"))
    summary.add("users", User.objects.count())
    return summary
