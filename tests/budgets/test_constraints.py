"""The database holds the invariants of budget executions, whatever path writes them.

These tests write around the budget services on purpose (BudgetExecution.objects.create): the
services would refuse such rows before the database saw them, and the constraints are what must
hold when some path does not go through the services."""

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from budgets.models import BudgetExecution

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "fields",
    [
        {"allocated": -1},
        {"disbursed": -1},
        {"status": "lost"},
        # Amounts under review or approved are complete: the execution rate needs both.
        {"status": "submitted", "allocated": 1, "disbursed": None},
        {"status": "approved", "allocated": None, "disbursed": 1},
    ],
)
def test_check_constraints(line: Any, fields: dict[str, Any]) -> None:
    leaf = line("2.1.1")
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetExecution.objects.create(tenant=leaf.tenant, budget_line=leaf, period="2024", **fields)


def test_one_execution_per_line_and_period(line: Any) -> None:
    leaf = line("2.1.1")
    BudgetExecution.objects.create(tenant=leaf.tenant, budget_line=leaf, period="2024")
    BudgetExecution.objects.create(tenant=leaf.tenant, budget_line=leaf, period="2024H1")
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetExecution.objects.create(tenant=leaf.tenant, budget_line=leaf, period="2024")
