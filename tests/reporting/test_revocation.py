"""Revocation read from the server's own data: the demo CA revokes a tenant's key, and reports
signed with it read as the rules say, whatever revocation data the file embeds (none of it
names the revocation, which came later)."""

import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from weasyprint import HTML

from reporting import pki
from reporting.verification import Kind, verify_pdf
from tests.reporting.test_attacks import SETTINGS, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_pki(settings: object, tmp_path: Path) -> Path:
    for name, value in {"REPORT_PKI_DIR": tmp_path / "pki", **SETTINGS}.items():
        setattr(settings, name, value)
    return pki.ensure_demo_pki(tenant_slugs=["lao-cai"])


def report() -> bytes:
    return sign(bytes(HTML(string="<p>Báo cáo</p>").write_pdf()))


def test_a_report_signed_before_the_revocation_is_valid_at_signing_time(demo_pki: Path) -> None:
    signed = report()
    # CRLs and timestamps count whole seconds: a revocation in the signature's own second is not after it.
    time.sleep(1.5)
    call_command("revoke_signing_key", "lao-cai", stdout=StringIO())

    verification = verify_pdf(signed)

    assert verification.kind == Kind.INTACT, verification
    assert verification.revoked_at is not None
    assert verification.timestamped
    assert any("Hợp lệ tại thời điểm ký" in problem for problem in verification.problems)


def test_a_report_signed_after_the_key_was_compromised_reads_revoked(demo_pki: Path) -> None:
    signed = report()
    verification = verify_pdf(signed)
    assert verification.kind == Kind.INTACT
    assert verification.signed_at is not None
    # The key is known to have been compromised since before this signature was made.
    pki.certificate_revoke(tenant_slug="lao-cai", revoked_at=verification.signed_at - timedelta(hours=1))

    verification = verify_pdf(signed)

    assert verification.kind == Kind.REVOKED, verification
    assert not verification.valid
    assert verification.intact
    assert any("thu hồi" in problem for problem in verification.problems)


def test_a_revoked_key_signs_no_more(demo_pki: Path) -> None:
    from reporting.signing import SigningFailed

    pki.certificate_revoke(tenant_slug="lao-cai")
    with pytest.raises(SigningFailed):
        report()


def test_revocations_survive_the_crl_being_reissued(demo_pki: Path) -> None:
    pki.certificate_revoke(tenant_slug="lao-cai")
    pki.certificate_revoke(tenant_slug="lao-cai")  # re-issued once more: still one entry
    crl = pki.demo_crl()
    assert crl is not None
    assert len(crl["tbs_cert_list"]["revoked_certificates"]) == 1
