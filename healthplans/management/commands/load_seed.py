from typing import Any

from django.core.management.base import BaseCommand, CommandError

from healthplans.seeding import SeedError, seed_all


class Command(BaseCommand):
    help = "Load the seed plans, the org-unit tree and the demo users from fixtures/ (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = seed_all()
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in summary.counts.items()))
