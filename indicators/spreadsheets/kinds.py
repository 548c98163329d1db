"""The indicators' kinds of sheet, as the core's spreadsheet registry knows them."""

from healthplans.spreadsheets.registry import SheetImport, SheetKind, register
from indicators.spreadsheets.figures import (
    actuals_check,
    actuals_forbidden,
    actuals_table,
    actuals_write,
    matrix_table,
    parse_actual_rows,
)
from indicators.spreadsheets.targets import (
    parse_target_rows,
    targets_check,
    targets_forbidden,
    targets_table,
    targets_write,
)
from plans.selectors import plan_get_or_404

ACTUALS = SheetKind(
    name="actuals",
    export=actuals_table,
    period="required",
    imports=SheetImport(
        forbidden=actuals_forbidden,
        parse=parse_actual_rows,
        check=actuals_check,
        write=actuals_write,
        plan_get=plan_get_or_404,
    ),
)
TARGETS = SheetKind(
    name="targets",
    export=targets_table,
    imports=SheetImport(
        forbidden=targets_forbidden,
        parse=parse_target_rows,
        check=targets_check,
        write=targets_write,
        plan_get=plan_get_or_404,
    ),
)
MATRIX = SheetKind(name="matrix", export=matrix_table)


def register_kinds() -> None:
    for kind in (ACTUALS, TARGETS, MATRIX):
        register(kind)
