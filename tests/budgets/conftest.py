"""Lào Cai city's 2024 budget tree, as the seed documents write it, and amounts walked through the services."""

from typing import Any

import pytest

from budgets.models import BudgetExecution, BudgetLine
from budgets.services import (
    budget_execution_approve,
    budget_execution_create,
    budget_execution_submit,
)
from healthplans.models import User

CITY_PLAN = "laocai-city-de-an-07-2024"


def get_line(code: str, plan: str = CITY_PLAN) -> BudgetLine:
    return BudgetLine.objects.select_related("plan__issuer_org_unit").get(plan__slug=plan, code=code)


def get_user(username: str) -> User:
    return User.objects.get(username=username)


def record_amounts(
    code: str,
    period: str,
    allocated: int | None,
    disbursed: int | None,
    *,
    status: str = "approved",
    note: str = "",
) -> BudgetExecution:
    """Amounts on a line of the city plan, taken as far as `status` by the planner and the reviewer."""
    execution = budget_execution_create(
        budget_line=get_line(code),
        period=period,
        allocated=allocated,
        disbursed=disbursed,
        note=note,
        by=get_user("laocai.planner"),
    )
    if status in {"submitted", "approved"}:
        execution = budget_execution_submit(
            execution=execution, version=execution.version, by=get_user("laocai.planner")
        )
    if status == "approved":
        execution = budget_execution_approve(execution=execution, by=get_user("laocai.reviewer"))
    return execution


@pytest.fixture
def planner(api_as: Any) -> Any:
    return api_as("laocai.planner")


@pytest.fixture
def reviewer(api_as: Any) -> Any:
    return api_as("laocai.reviewer")


@pytest.fixture
def line(db: None) -> Any:
    """line("2.1.1") → that budget line of Lào Cai city's plan."""
    return get_line


@pytest.fixture
def record(db: None) -> Any:
    """record("2.1.1", "2024", 2_500_000_000, 1_000_000_000, status="approved") → the stored amounts."""
    return record_amounts


def add_lines(count: int) -> None:
    """More lines under the city hospital, each with approved amounts."""
    hospital = get_line("2.2")
    for n in range(count):
        BudgetLine.objects.create(
            tenant=hospital.tenant,
            plan=hospital.plan,
            parent=hospital,
            order=900 + n,
            code=f"2.2.{10 + n}",
            name=f"Hạng mục thêm {n}",
            year=2024,
            agency=hospital.agency,
            amount=1_000_000,
        )
        record_amounts(f"2.2.{10 + n}", "2024", 1_000_000, 500_000)


@pytest.fixture
def grow_tree(db: None) -> Any:
    """grow_tree(8) → eight more lines of the city plan's 2024 tree, with approved amounts."""
    return add_lines
