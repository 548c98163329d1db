"""`manage.py demo_pki`: the demo CA, TSA, CRL and a signing key per tenant, made where missing."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reporting.pki import ensure_demo_pki


class Command(BaseCommand):
    help = "Create the demo PKI for report signing (root CA, TSA, CRL, a key per tenant) where missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", action="append", dest="tenants", help="only this tenant's key (repeatable)")

    def handle(self, *args: Any, tenants: list[str] | None = None, **options: Any) -> None:
        directory = ensure_demo_pki(tenant_slugs=tenants)
        for path in sorted(directory.iterdir()):
            if not path.name.startswith("."):
                self.stdout.write(str(path))
        self.stdout.write(self.style.SUCCESS(f"Demo PKI ready in {directory}"))
