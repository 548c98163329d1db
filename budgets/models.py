"""Budget lines of a plan: a tree per plan and year, in integer đồng."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from healthplans.models import Agency, Tenant
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
