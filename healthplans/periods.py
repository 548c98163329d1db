"""Reporting periods: a year ("2024"), a half-year ("2024H1", "2024H2") or a five-year review
("2021-2025"). A period's targets are those of the year it ends in."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.utils.translation import gettext as _

_PERIOD_RE = re.compile(r"^(?P<year>\d{4})(?:H(?P<half>[12])|-(?P<end>\d{4}))?$")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    code: str

    @property
    def kind(self) -> str:
        if "H" in self.code:
            return "half_year"
        return "five_year" if "-" in self.code else "year"

    @property
    def target_year(self) -> int:
        return self.end.year

    @property
    def deadline(self) -> date:
        """When figures of the period are due: its end plus the statistics grace."""
        return self.end + timedelta(days=settings.FIGURES_GRACE_DAYS)

    def previous(self) -> "Period":
        if self.kind == "half_year":
            year, half = self.start.year, self.code[-1]
            return parse_period(f"{year - 1}H2" if half == "1" else f"{year}H1")
        if self.kind == "five_year":
            return parse_period(f"{self.start.year - 5}-{self.end.year - 5}")
        return parse_period(str(self.start.year - 1))

    def __str__(self) -> str:
        return self.code


def parse_period(code: str) -> Period:
    match = _PERIOD_RE.match(code.strip())
    if not match:
        raise PeriodError(_("Unknown period «%(code)s»: write 2024, 2024H1, 2024H2 or 2021-2025.") % {"code": code})
    year = int(match["year"])
    if match["half"]:
        half = int(match["half"])
        start, end = (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))
        return Period(start, end, f"{year}H{half}")
    if match["end"]:
        end_year = int(match["end"])
        if end_year != year + 4:
            raise PeriodError(_("A five-year period spans five years, as 2021-2025: «%(code)s».") % {"code": code})
        return Period(date(year, 1, 1), date(end_year, 12, 31), f"{year}-{end_year}")
    return Period(date(year, 1, 1), date(year, 12, 31), str(year))


def plan_periods(*, start_year: int, end_year: int, frequencies: list[str]) -> list[Period]:
    """Every period of a plan's years in the plan's reporting frequencies, in time order."""
    periods: list[Period] = []
    for year in range(start_year, end_year + 1):
        if "half_year" in frequencies:
            periods += [parse_period(f"{year}H1"), parse_period(f"{year}H2")]
        if "year" in frequencies or not frequencies:
            periods.append(parse_period(str(year)))
    if "five_year" in frequencies:
        # Five-year reviews end on the plan's own milestones (2025, 2030, …).
        for end in range(end_year, start_year + 3, -5):
            periods.append(parse_period(f"{end - 4}-{end}"))
    return sorted(periods, key=lambda period: (period.end, period.start))
