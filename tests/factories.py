"""Factories of the core objects, for tests that need a world of their own rather than the seed's.

A province of its own (a tenant, its unit tree, its users) never meets the seed's figures, caches or
query counts. Figures are entered and moved along the review path through the figure services
(never `Actual.objects.create`), so a factory-made figure obeys every rule a user's does:

    indicator = IndicatorFactory.create()  # of a new plan of a new province
    actual = FigureFactory.create(indicator=indicator, status=ReviewStatus.APPROVED)

(`XFactory.create(…)` rather than `XFactory(…)`: mypy knows what `create` returns.)
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import factory
from factory.django import DjangoModelFactory, Password

from healthplans.models import Agency, OrgUnit, Reorganisation, Role, RoleAssignment, Tenant, User
from healthplans.reorganisation import Changes, Move, NewUnit, Succession
from healthplans.workflow import ReviewStatus
from indicators.entries import FigureStep, NewFigure
from indicators.models import Actual, Direction, Indicator, Rollup, Target, UnitKind, unit_entry_level
from indicators.services import actual_approve_many, actual_create_many, actual_return_many, actual_submit_many
from plans.models import Plan

PASSWORD = "factory-password"


class TenantFactory(DjangoModelFactory[Tenant]):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"factory-province-{n}")
    name = factory.Sequence(lambda n: f"Tỉnh thử {n}")


def the_nation() -> OrgUnit:
    """The root of the tree (the seed's, or a new one): a role there reaches every tenant."""
    nation = OrgUnit.objects.filter(depth=1, level=OrgUnit.Level.NATION).first()
    return nation or OrgUnit.objects.add_root(
        create_kwargs={"code": "factory-nation", "name": "Việt Nam", "level": OrgUnit.Level.NATION}
    )


def _tenant_of(unit: Any) -> Tenant | None:
    """A new unit's tenant: none for the nation, its parent's below a province, a new one for a province."""
    if unit.level == OrgUnit.Level.NATION:
        return None
    if unit.parent is not None and unit.parent.tenant_id is not None:
        return unit.parent.tenant
    return TenantFactory.create()


class OrgUnitFactory(DjangoModelFactory[OrgUnit]):
    """OrgUnitFactory() → a new province (of a new tenant) under the nation; OrgUnitFactory(parent=unit,
    level=…) → a unit under `unit`, of its tenant; parent=None → a root. The tree's paths are
    treebeard's (add_root / add_child), never written by hand."""

    class Meta:
        model = OrgUnit

    parent: Any = factory.LazyFunction(the_nation)
    code = factory.Sequence(lambda n: f"factory-unit-{n}")
    name = factory.Sequence(lambda n: f"Đơn vị thử {n}")
    level = OrgUnit.Level.PROVINCE
    tenant = factory.LazyAttribute(_tenant_of)

    @classmethod
    def _create(cls, model_class: type[OrgUnit], *args: Any, parent: OrgUnit | None = None, **kwargs: Any) -> OrgUnit:
        if parent is None:
            return model_class.objects.add_root(create_kwargs=kwargs)
        # add_child counts the parent's children: read them as they are now, not as `parent` was read.
        return model_class.objects.add_child(model_class.objects.get(pk=parent.pk), create_kwargs=kwargs)


class StationFactory(OrgUnitFactory):
    """A commune health station (a facility of the station kind), under a new commune by default."""

    parent = factory.SubFactory(OrgUnitFactory, level=OrgUnit.Level.COMMUNE, parent=factory.SubFactory(OrgUnitFactory))
    level = OrgUnit.Level.FACILITY
    facility_kind = OrgUnit.FacilityKind.STATION


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"factory.user{n}")
    password = Password(PASSWORD)


class RoleAssignmentFactory(DjangoModelFactory[RoleAssignment]):
    """A user holding a role on a unit's subtree: RoleAssignmentFactory(role=Role.REVIEWER, org_unit=unit).user."""

    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    org_unit = factory.SubFactory(OrgUnitFactory)
    role = Role.PLANNER


class AgencyFactory(DjangoModelFactory[Agency]):
    class Meta:
        model = Agency

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"factory-agency-{n}")
    name = factory.Sequence(lambda n: f"Cơ quan thử {n}")


class PlanFactory(DjangoModelFactory[Plan]):
    """A plan of 2024–2025 issued by a new province (or by `issuer_org_unit`, whose tenant it takes)."""

    class Meta:
        model = Plan

    issuer_org_unit = factory.SubFactory(OrgUnitFactory)
    tenant = factory.SelfAttribute("issuer_org_unit.tenant")
    slug = factory.Sequence(lambda n: f"factory-plan-{n}")
    issuer = "UBND tỉnh"
    title = factory.Sequence(lambda n: f"Kế hoạch thử {n}")
    start_year = 2024
    end_year = 2025


class IndicatorFactory(DjangoModelFactory[Indicator]):
    """A percentage, higher is better, pooled, entered at the plan issuer's own level."""

    class Meta:
        model = Indicator

    plan = factory.SubFactory(PlanFactory)
    tenant = factory.SelfAttribute("plan.tenant")
    order = factory.Sequence(lambda n: n + 1)
    number = factory.Sequence(lambda n: str(n + 1))
    name = factory.Sequence(lambda n: f"Chỉ tiêu thử {n}")
    unit = "%"
    unit_kind = UnitKind.PERCENT
    direction = Direction.HIGHER
    rollup = Rollup.POOLED
    entry_level = factory.LazyAttribute(lambda indicator: unit_entry_level(indicator.plan.issuer_org_unit))


class TargetFactory(DjangoModelFactory[Target]):
    """A plan-wide target (no unit) of ≥ 90 in 2024."""

    class Meta:
        model = Target

    indicator = factory.SubFactory(IndicatorFactory)
    tenant = factory.SelfAttribute("indicator.tenant")
    year = 2024
    comparator = ">="
    value = Decimal(90)
    text = factory.LazyAttribute(lambda target: f"≥{target.value}")


def writer_at(unit: OrgUnit) -> User:
    """A new planner of `unit`'s subtree (a writer of its figures)."""
    return RoleAssignmentFactory.create(org_unit=unit, role=Role.PLANNER).user


def reviewer_at(unit: OrgUnit) -> User:
    """A new reviewer of `unit`'s subtree."""
    return RoleAssignmentFactory.create(org_unit=unit, role=Role.REVIEWER).user


def figures_entered(
    *,
    org_unit: OrgUnit,
    period: str,
    values: Sequence[tuple[Indicator, Decimal | None] | NewFigure],
    by: User,
    status: str = ReviewStatus.DRAFT,
    reviewer: User | None = None,
    note: str = "",
    message: str = "Số liệu chưa khớp sổ sách.",
) -> list[Actual]:
    """Figures of one unit and period entered by `by` through the bulk figure services and taken
    to `status`: submitted by `by`, then approved or returned by `reviewer` (a new reviewer of
    the unit if not given). A value is (indicator, value) with the note given, or a NewFigure
    (a rate with its numerator and denominator). A reviewed step's message is the one given."""
    figures = [value if isinstance(value, NewFigure) else NewFigure(value[0], value[1], note=note) for value in values]
    actuals = actual_create_many(org_unit=org_unit, period=period, figures=figures, by=by)
    if status == ReviewStatus.DRAFT:
        return actuals
    actuals = actual_submit_many(steps=[FigureStep(actual) for actual in actuals], by=by)
    if status == ReviewStatus.SUBMITTED:
        return actuals
    reviewer = reviewer or reviewer_at(org_unit)
    steps = [FigureStep(actual) for actual in actuals]
    if status == ReviewStatus.APPROVED:
        return actual_approve_many(steps=steps, by=reviewer)
    if status == ReviewStatus.RETURNED:
        return actual_return_many(steps=steps, message=message, by=reviewer)
    raise ValueError(f"no review step leads to {status!r}")


class FigureFactory(factory.Factory[Actual]):
    """One figure through the figure services: FigureFactory(indicator=…, status=ReviewStatus.APPROVED).

    By default at the indicator's plan issuer (the unit the default indicator is entered at), for
    2024, entered by a new planner of that unit; `by` and `reviewer` name the users otherwise."""

    class Meta:
        model = Actual

    indicator = factory.SubFactory(IndicatorFactory)
    org_unit = factory.SelfAttribute("indicator.plan.issuer_org_unit")
    period = "2024"
    value: Any = Decimal("92.5")
    note = ""
    status = ReviewStatus.DRAFT
    by = factory.LazyAttribute(lambda figure: writer_at(figure.org_unit))
    reviewer = None

    @classmethod
    def _create(
        cls, model_class: type[Actual], *args: Any, indicator: Indicator, value: Decimal | None, **kwargs: Any
    ) -> Actual:
        (actual,) = figures_entered(values=[(indicator, value)], **kwargs)
        return actual


def two_communes_merged(effective_on: date) -> Reorganisation:
    """A reorganisation of today's Lào Cai, recorded and not yet applied: Phường Cam Đường and Xã
    Hợp Thành merged into a new ward, Phường Hợp Cam, whose station takes over both stations and
    the site of the former Tả Phời."""
    changes = Changes(
        created=[
            NewUnit(code="c99001", name="Phường Hợp Cam", level="commune", parent="laocai-2025", unit_type="phuong"),
            NewUnit(
                code="s99001",
                name="Trạm Y tế phường Hợp Cam",
                level="facility",
                parent="c99001",
                facility_kind="station",
            ),
        ],
        ended=["c02671", "c02680"],
        successions=[
            Succession(predecessor="c02671", successor="c99001"),
            Succession(predecessor="c02680", successor="c99001"),
            Succession(predecessor="s02671", successor="s99001"),
            Succession(predecessor="s02680", successor="s99001"),
        ],
        moved=[Move(unit="site-02677", parent="s99001")],
    )
    return Reorganisation.objects.create(
        title="Sáp nhập phường Cam Đường và xã Hợp Thành", effective_on=effective_on, changes=changes.as_json()
    )
