"""Budget lines of a plan (a tree per plan and year) and what was allocated and disbursed on them,
in integer đồng."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from healthplans.models import Agency, Tenant
from healthplans.workflow import Action, ReviewedRecord, ReviewStatus
from plans.models import Plan, Section


class FundingSource(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("funding source")
        verbose_name_plural = _("funding sources")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BudgetLine(models.Model):
    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.PROTECT, null=True, blank=True, related_name="budget_lines"
    )
    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="budget_lines")
    parent = models.ForeignKey(
        "self", verbose_name=_("parent line"), on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    order = models.PositiveIntegerField(_("order"))
    code = models.CharField(_("code"), max_length=20)
    name = models.TextField(_("name"))
    year = models.PositiveSmallIntegerField(_("year"))
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, null=True, blank=True, related_name="budget_lines"
    )
    funding_source = models.ForeignKey(
        FundingSource,
        verbose_name=_("funding source"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="budget_lines",
    )
    amount = models.BigIntegerField(_("amount (đồng)"))
    amount_text = models.CharField(_("amount as written"), max_length=100, blank=True)
    task_section = models.ForeignKey(
        Section,
        verbose_name=_("task section paid for"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="budget_lines",
    )

    class Meta:
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")
        ordering = ["plan", "order"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="budgetline_unique_code"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="budgetline_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code}. {self.name}"


def money_field(verbose_name: Any) -> "models.BigIntegerField[int | None, int | None]":
    """An amount of whole đồng, empty until entered."""
    return models.BigIntegerField(verbose_name, null=True, blank=True)


class BudgetExecution(ReviewedRecord):
    """What was allocated (dự toán giao) and disbursed (giải ngân) on a budget line for a period.

    It follows the figures' path: draft → submitted → approved | returned, with a version that
    every write moves, and approved amounts stay locked until a reviewer unlocks them."""

    # Empty, as on the budget line, for a national plan that belongs to no tenant.
    tenant = models.ForeignKey(
        Tenant,
        verbose_name=_("tenant"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="budget_executions",
    )
    budget_line = models.ForeignKey(
        BudgetLine, verbose_name=_("budget line"), on_delete=models.PROTECT, related_name="executions"
    )
    period = models.CharField(_("period"), max_length=16)
    allocated = money_field(_("allocated (đồng)"))
    disbursed = money_field(_("disbursed (đồng)"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("budget execution")
        verbose_name_plural = _("budget executions")
        ordering = ["budget_line", "period"]
        constraints = [
            models.UniqueConstraint(fields=["budget_line", "period"], name="budgetexecution_unique_line_period"),
            models.CheckConstraint(condition=Q(status__in=ReviewStatus.values), name="budgetexecution_status_valid"),
            models.CheckConstraint(
                condition=Q(allocated__isnull=True) | Q(allocated__gte=0), name="budgetexecution_allocated_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(disbursed__isnull=True) | Q(disbursed__gte=0), name="budgetexecution_disbursed_not_negative"
            ),
            # Only complete amounts go to review: the execution rate needs both.
            models.CheckConstraint(
                condition=Q(status__in=[ReviewStatus.DRAFT, ReviewStatus.RETURNED])
                | Q(allocated__isnull=False, disbursed__isnull=False),
                name="budgetexecution_reviewed_amounts_complete",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "period", "status"], name="budgetexec_tenant_period")]

    def __str__(self) -> str:
        return f"{self.budget_line} · {self.period}"


class BudgetExecutionEvent(models.Model):
    """One step in an execution's history: who, when, what, the amounts before and after, and why."""

    execution = models.ForeignKey(
        BudgetExecution, verbose_name=_("budget execution"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+", null=True
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    old_allocated = money_field(_("allocated before"))
    new_allocated = money_field(_("allocated after"))
    old_disbursed = money_field(_("disbursed before"))
    new_disbursed = money_field(_("disbursed after"))
    message = models.TextField(_("message or reason"), blank=True)

    class Meta:
        verbose_name = _("budget history entry")
        verbose_name_plural = _("budget history")
        ordering = ["execution", "at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=Action.values), name="budgetexecutionevent_action_valid")
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.at:%Y-%m-%d %H:%M}"
