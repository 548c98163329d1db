"""What the figure services take and answer: a new figure, a figure as entered (new or changed), a
step of the review path, and the refusal of many figures at once."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import ngettext

from healthplans.models import OrgUnit
from healthplans.workflow import ServiceError
from indicators.models import Actual, Indicator


@dataclass(frozen=True)
class NewFigure:
    """What a new figure is entered with."""

    indicator: Indicator
    value: Decimal | None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    note: str = ""
    source: str = ""
    is_demo: bool = False


@dataclass(frozen=True)
class FigureEntry:
    """A figure as a user enters it: new (`version` None) or the change of the stored one read at
    `version`. A note of None leaves the stored note as it is."""

    indicator: Indicator
    org_unit: OrgUnit
    period: str
    value: Decimal | None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    note: str | None = None
    version: int | None = None
    source: str = ""
    is_demo: bool = False
    submit: bool = False  # and submitted for review once saved (a form's "submit")


@dataclass(frozen=True)
class FigureStep:
    """One figure moved along the review path: as read at `version` (None: the version `actual`
    carries), with a note for a submission (None: the stored note)."""

    actual: Actual
    version: int | None = None
    note: str | None = None

    @property
    def expected_version(self) -> int:
        return self.actual.version if self.version is None else self.version


class RowsRefused(ServiceError):
    """Some figures of a bulk write were refused, and so none was written: `rows` maps the place of
    each refused figure in the request to its refusal (also in `extra` for the API)."""

    code = "rows_refused"

    def __init__(self, rows: dict[int, ServiceError]) -> None:
        message = ngettext(
            "%(count)s figure was refused; nothing was written.",
            "%(count)s figures were refused; nothing was written.",
            len(rows),
        ) % {"count": len(rows)}
        details = [
            {"row": index, "code": error.code, "detail": error.message, "errors": error.fields}
            for index, error in sorted(rows.items())
        ]
        super().__init__(message, extra={"rows": details})
        self.rows = rows
        # A conflict first (the caller must take the stored values), then a refusal, then bad input.
        statuses = {error.status for error in rows.values()}
        self.status = next((status for status in (409, 403) if status in statuses), 400)
