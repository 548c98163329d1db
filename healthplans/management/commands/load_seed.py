from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from healthplans.seeding import SeedError, seed_all
from indicators.demo import demo_figures_load


class Command(BaseCommand):
    help = "Load the seed plans, the org-unit tree and the demo users from fixtures/, then demo figures (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--without-demo-figures", action="store_true", help="Load the plans and users only, no demo actuals."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = seed_all()
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        if not options["without_demo_figures"]:
            summary.add("demo figures added", demo_figures_load())
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in summary.counts.items()))
        for change in summary.changes:
            self.stdout.write(change)
