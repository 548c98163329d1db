"""One write path: figures (`Actual`, their history, their version) are written by
indicators/services.py alone, budget amounts (`BudgetExecution`, their history) by
budgets/services.py alone, targets and their revisions by indicators/definitions.py (the plan
builder's services) alone, so that a rule added to a service holds on every path (the grid, the
station form, review, imports, the API, the demo loader; for targets the builder's pages and API,
the document reader and the targets' sheet, which an issued plan's life binds). The product's source is read with `ast`;
a module that writes those rows any other way fails here, unless it is exempted below with its
reason."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["healthplans", "plans", "indicators", "budgets", "reporting"]

# Model → the one module that may write its rows.
WRITERS = {
    "Actual": "indicators/services.py",
    "ActualEvent": "indicators/services.py",
    "BudgetExecution": "budgets/services.py",
    "BudgetExecutionEvent": "budgets/services.py",
    "Target": "indicators/definitions.py",
    "TargetRevision": "indicators/definitions.py",
}
# Related managers that reach those rows (`line.executions.create(...)`, `indicator.targets.create(...)`).
RELATED = {"actuals", "budget_executions", "executions"}
RELATED_TARGETS = {"targets", "revisions"}
WRITES = {"create", "bulk_create", "update", "bulk_update", "update_or_create", "get_or_create", "delete"}
# Instance writes (`.save()`, `.delete()`) are caught on names that say they hold a figure or an
# amount; a version set (`.version = …`) also on names of a row as read or stored (a page's
# `row.version` is what the user read, not a write; every reviewed record has a version).
RECORD_NAMES = ("actual", "figure", "execution")
TARGET_NAMES = ("target", "revision")
VERSIONED_NAMES = (*RECORD_NAMES, "current", "stored", "existing", "locked", "record")

# Modules that may write those rows (or a reviewed record's version) although they are not the
# services, and why.
EXEMPT = {
    # The review workflow of the core: conditional_update and the bulk review steps move the version
    # of any reviewed record for the services that call it (the figure and budget services).
    "healthplans/workflow.py": "the core's review workflow, called by the services only",
    # 3.3 million figures with their history for the benchmarks, written with COPY as the services
    # would have left them: through the services it would take hours.
    "indicators/management/commands/generate_scale.py": "benchmark data, bulk COPY of figures",
}


def product_modules() -> Iterator[tuple[str, ast.Module]]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                yield relative, ast.parse(path.read_text(), filename=relative)


def chain(node: ast.expr) -> list[str]:
    """The names along a call's receiver: `Actual.objects.filter(...).update` → [update, filter, objects, Actual]."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names
        else:
            return names


def writes_in(module: ast.Module) -> Iterator[tuple[int, str, str]]:
    """(line, what is written, how) of every write of the guarded rows or of a version."""
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            names = chain(node.func)
            method, receiver = names[0], names[1:]
            if method in WRITES:
                for model in WRITERS:
                    if model in receiver and "objects" in receiver:
                        yield node.lineno, model, f"{model}.objects….{method}()"
                if related := RELATED & set(receiver):
                    yield node.lineno, "related", f"….{related.pop()}.{method}()"
                if related := RELATED_TARGETS & set(receiver):
                    yield node.lineno, "Target", f"….{related.pop()}.{method}()"
            if method in {"save", "delete"} and receiver and any(word in receiver[0].lower() for word in RECORD_NAMES):
                yield node.lineno, "record", f"{receiver[0]}.{method}()"
            if method in {"save", "delete"} and receiver and any(word in receiver[0].lower() for word in TARGET_NAMES):
                yield node.lineno, "Target", f"{receiver[0]}.{method}()"
            if method == "update" and any(keyword.arg == "version" for keyword in node.keywords):
                yield node.lineno, "version", "update(version=…)"
            if method == "bulk_update" and "version" in ast.unparse(node):
                yield node.lineno, "version", "bulk_update([… 'version'])"
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        )
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "version"
                and any(word in ast.unparse(target.value).lower() for word in VERSIONED_NAMES)
            ):
                yield target.lineno, "version", f"{ast.unparse(target)} = …"
        # Raw SQL on the figures' tables.
        if isinstance(node, ast.Attribute) and node.attr == "db_table":
            names = chain(node)
            for model in WRITERS:
                if model in names:
                    yield node.lineno, model, f"{model}._meta.db_table (raw SQL)"


def may_write(module: str, what: str) -> bool:
    if module in EXEMPT:
        return True
    if what in WRITERS:
        return WRITERS[what] == module
    # A version, a related manager or a record's save: only the services of figures and budgets.
    return module in set(WRITERS.values())


def test_only_the_services_write_figures_budget_amounts_targets_and_their_versions() -> None:
    found = [
        f"{module}:{line}: {how}"
        for module, tree in product_modules()
        for line, what, how in writes_in(tree)
        if not may_write(module, what)
    ]
    assert found == [], "write figures, budget amounts and targets through their services:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("Actual.objects.filter(pk=1).update(value=2)", True),
        ("ActualEvent.objects.bulk_create(events)", True),
        ("BudgetExecution.objects.get_or_create(line=line)", True),
        ("line.executions.create(amount=1)", True),
        ("actual.save()", True),
        ("current.version += 1", True),
        ("rows.update(version=F('version') + 1)", True),
        ("Target.objects.filter(pk=1).update(text='≥ 90%')", True),
        ("TargetRevision.objects.bulk_create(revisions)", True),
        ("indicator.targets.create(year=2025)", True),
        ("target.save()", True),
        ("Plan.objects.filter(pk=1).update(title='x')", False),
        ("report.save()", False),
        ("row.version = version", False),
    ],
)
def test_the_scan_catches_writes_and_lets_others_be(source: str, caught: bool) -> None:
    assert bool(list(writes_in(ast.parse(source)))) == caught


def test_the_exemptions_still_exist() -> None:
    """An exemption of a module that is gone (or moved) would silently allow its successor."""
    assert [module for module in EXEMPT if not (ROOT / module).exists()] == []
