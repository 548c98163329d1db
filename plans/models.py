"""Plans (kế hoạch, đề án, chỉ thị, chiến lược) with their objectives, tasks and assignments."""

from collections.abc import Callable
from datetime import date

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from healthplans.models import Agency, OrgUnit, Tenant
from healthplans.periods import Period, plan_periods
from healthplans.territory import successor_paths, territory_paths


class Plan(models.Model):
    class Kind(models.TextChoices):
        PLAN = "plan", _("plan")
        SCHEME = "scheme", _("scheme")
        DIRECTIVE = "directive", _("directive")
        STRATEGY = "strategy", _("strategy")
        PROJECT = "project", _("project")
        DECISION = "decision", _("decision")

    class Status(models.TextChoices):
        """A plan's life: a draft changes freely; once issued (ban hành) its targets change only by a
        revision (indicators.definitions.target_revise); a closed plan changes no more. "active" is
        the stored value of issued, as the seed plans and the reports' filters have it."""

        DRAFT = "draft", _("draft")
        ACTIVE = "active", _("issued")
        CLOSED = "closed", _("closed")

    class Frequency(models.TextChoices):
        HALF_YEAR = "half_year", _("six-monthly")
        YEAR = "year", _("yearly")
        FIVE_YEAR = "five_year", _("five-yearly")

    # National plans (a Prime Minister's strategy, a World Bank project) belong to no tenant.
    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.PROTECT, null=True, blank=True, related_name="plans"
    )
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PLAN)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    document_number = models.CharField(_("document number"), max_length=100, blank=True)
    issuer = models.CharField(_("issuer"), max_length=300)
    issuer_parent = models.CharField(_("issuing body above the issuer"), max_length=300, blank=True)
    issuer_org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("issuer's org unit"), on_delete=models.PROTECT, related_name="plans"
    )
    place = models.CharField(_("place"), max_length=100, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    issued_text = models.CharField(_("date line as written"), max_length=200, blank=True)
    title = models.TextField(_("title"))
    start_year = models.PositiveSmallIntegerField(_("start year"))
    end_year = models.PositiveSmallIntegerField(_("end year"))
    vision_year = models.PositiveSmallIntegerField(_("vision year"), null=True, blank=True)
    signer_name = models.CharField(_("signer"), max_length=200, blank=True)
    signer_title = models.CharField(_("signer's title"), max_length=200, blank=True)
    signer_authority = models.CharField(_("signing authority"), max_length=200, blank=True)
    reporting_frequencies = models.JSONField(_("reporting frequencies"), default=list, blank=True)
    # The document's words for how often it reports ("6 tháng/lần", "theo quy định"), kept even
    # when they name no frequency: then the reporting rules decide (reported_kinds).
    frequency_text = models.CharField(_("reporting frequency as written"), max_length=200, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    legal_bases = models.JSONField(_("legal bases"), default=list, blank=True)
    recipients = models.JSONField(_("distribution list"), default=list, blank=True)
    # Counts the review steps that moved a figure of the plan into or out of the approved or
    # submitted ones: cached roll-ups are keyed by it, so none outlives such a step.
    figures_generation = models.PositiveBigIntegerField(_("figures generation"), default=0, editable=False)
    source = models.CharField(_("source document"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["-start_year", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(end_year__gte=F("start_year")), name="plan_years_ordered"),
            models.CheckConstraint(
                condition=Q(vision_year__isnull=True) | Q(vision_year__gte=F("end_year")), name="plan_vision_after_end"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def last_year(self) -> int:
        """The last year the plan sets targets for: its vision year, if it looks that far."""
        return self.vision_year or self.end_year

    @property
    def reported_kinds(self) -> list[str]:
        """The kinds of period the plan is reported on: those it states; with six-monthly reports
        also the year, whose report the second half-year's is (báo cáo 6 tháng và năm); and for a
        plan that leaves it to the regulations ("theo quy định"), the year, as they ask. A plan that
        says nothing at all (a cited parent we only know the metadata of) is reported on nothing."""
        kinds = set(self.reporting_frequencies)
        if self.Frequency.HALF_YEAR in kinds or (not kinds and self.frequency_text):
            kinds.add(self.Frequency.YEAR)
        return [kind for kind in self.Frequency.values if kind in kinds]

    def periods(self) -> list[Period]:
        """Every period the plan reports on, in the kinds it is reported on, in time order."""
        return plan_periods(start_year=self.start_year, end_year=self.end_year, frequencies=self.reported_kinds)

    def area_paths(self, start: date | None = None, end: date | None = None) -> tuple[str, ...]:
        """The subtrees the plan applies over from `start` to `end` (by default its whole span): its
        issuing unit's, or once that unit has ended, the units that now hold its territory
        (healthplans.territory)."""
        return self._kept("area", start, end, lambda first, last: territory_paths(self.issuer_org_unit, first, last))

    def stand_in_paths(self, start: date | None = None, end: date | None = None) -> tuple[str, ...]:
        """Once the issuing unit has ended, the units that took its place: where the figures the
        plan asks of the issuing unit itself (a province's own, a city's) are entered from then on.
        A unit that ended without a successor of its own (a district) is stood in for by the units
        that hold its territory (its successor wards and communes)."""

        def stand_ins(first: date, last: date) -> tuple[str, ...]:
            issuer = self.issuer_org_unit
            found = successor_paths(issuer, first, last)
            return found or tuple(path for path in self.area_paths(first, last) if path != issuer.path)

        return self._kept("stand_ins", start, end, stand_ins)

    def _kept(
        self, name: str, start: date | None, end: date | None, compute: Callable[[date, date], tuple[str, ...]]
    ) -> tuple[str, ...]:
        """`compute(start, end)` (by default the plan's whole span), kept on the instance: pages ask
        for the plan's area once per cell."""
        span = (start or date(self.start_year, 1, 1), end or date(self.last_year, 12, 31))
        memo: dict[tuple[str, date, date], tuple[str, ...]] = self.__dict__.setdefault("_area_memo", {})
        if (name, *span) not in memo:
            memo[(name, *span)] = compute(*span)
        return memo[(name, *span)]

    def covers(self, unit: OrgUnit, start: date | None = None, end: date | None = None) -> bool:
        """Whether the unit is within the plan's area from `start` to `end` (or stands in for its
        issuing unit then)."""
        return unit.path.startswith(self.area_paths(start, end)) or unit.path in self.stand_in_paths(start, end)

    def area_q(self, start: date | None = None, end: date | None = None, path_field: str = "path") -> Q:
        """Rows whose unit lies in the plan's area or stands in for its issuing unit (see covers)."""
        q = Q(**{f"{path_field}__in": self.stand_in_paths(start, end)})
        for path in self.area_paths(start, end):
            q |= Q(**{f"{path_field}__startswith": path})
        return q


class Objective(models.Model):
    class Kind(models.TextChoices):
        CONTEXT = "context", _("context")
        PURPOSE = "purpose", _("purpose")
        REQUIREMENT = "requirement", _("requirement")
        GENERAL = "general", _("general objective")
        SPECIFIC = "specific", _("specific objective")

    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="objectives")
    order = models.PositiveIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    text = models.TextField(_("text"))

    class Meta:
        verbose_name = _("objective")
        verbose_name_plural = _("objectives")
        ordering = ["plan", "order"]
        constraints = [models.UniqueConstraint(fields=["plan", "order"], name="objective_unique_order")]

    def __str__(self) -> str:
        return self.text[:80]


class Section(models.Model):
    """A numbered section of tasks (nhiệm vụ, giải pháp): "1", "1.1", "III.2" …"""

    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="sections")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent section"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subsections",
    )
    order = models.PositiveIntegerField(_("order"))
    number = models.CharField(_("number"), max_length=20)
    title = models.TextField(_("title"))

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["plan", "order"]
        constraints = [models.UniqueConstraint(fields=["plan", "order"], name="section_unique_order")]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


class Task(models.Model):
    section = models.ForeignKey(Section, verbose_name=_("section"), on_delete=models.CASCADE, related_name="tasks")
    order = models.PositiveIntegerField(_("order"))
    text = models.TextField(_("text"))
    lead = models.ForeignKey(
        Agency, verbose_name=_("lead agency"), on_delete=models.PROTECT, null=True, blank=True, related_name="tasks"
    )
    amount = models.BigIntegerField(_("amount (đồng)"), null=True, blank=True)
    amount_text = models.CharField(_("amount as written"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["section", "order"]
        constraints = [
            models.UniqueConstraint(fields=["section", "order"], name="task_unique_order"),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="task_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class Assignment(models.Model):
    """Tổ chức thực hiện: an agency's responsibility, leading (chủ trì) or coordinating (phối hợp)."""

    class Role(models.TextChoices):
        LEAD = "lead", _("lead")
        COORDINATE = "coordinate", _("coordinate")

    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="assignments")
    order = models.PositiveIntegerField(_("order"))
    number = models.CharField(_("number"), max_length=20, blank=True)
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    text = models.TextField(_("responsibility"))

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["plan", "order"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "order"], name="assignment_unique_order"),
            models.CheckConstraint(condition=Q(role__in=["lead", "coordinate"]), name="assignment_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.agency} ({self.get_role_display()})"
