"""`manage.py revoke_signing_key <tenant>`: put a tenant's demo signing key on the demo CA's CRL."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reporting.pki import certificate_revoke


class Command(BaseCommand):
    help = "Revoke a tenant's demo signing certificate: the verifier then reads its signatures as revoked."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant's slug, e.g. lao-cai")
        parser.add_argument(
            "--since",
            type=datetime.fromisoformat,
            help="revoked from this moment (ISO 8601 with its offset, e.g. 2025-03-01T08:00+07:00); now by default",
        )

    def handle(self, *args: Any, tenant: str, since: datetime | None = None, **options: Any) -> None:
        if since is not None and since.tzinfo is None:
            raise CommandError("--since needs a time zone offset, e.g. +07:00.")
        try:
            moment = certificate_revoke(tenant_slug=tenant, revoked_at=since)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"The signing key of {tenant} is revoked from {moment.isoformat()}."))
