"""A real PKCS#11 token for the signing tests: a SoftHSM2 token (Debian's softhsm2, which .ci/run
installs) holding Lào Cai's key and certificate from a demo PKI of its own.

One token per test process: python-pkcs11 loads libsofthsm2 once per process, and SoftHSM reads
SOFTHSM2_CONF only at that first load, so a second token directory in the same process would
never be seen (and two tokens' objects would clash). Every test that signs with a token asks for
`pkcs11_token`; under xdist each worker process has its own."""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12
from django.test import override_settings

from reporting import pki

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN_LABEL = "healthplans"
TOKEN_PIN = "1234"
TOKEN_SO_PIN = "0000"
TOKEN_TENANT = "lao-cai"
PKI_PASSPHRASE = "test-only-signing-passphrase"


@dataclass(frozen=True)
class SoftToken:
    """The token and the demo PKI its key was issued by (the verifier trusts that PKI's root)."""

    pki_dir: Path
    pin: str
    tenant_slug: str

    def settings(self) -> dict[str, object]:
        """Settings that sign with the token only: its PIN must be given (none is configured), and
        the key files are out of reach (a wrong passphrase)."""
        return {
            "REPORT_PKI_DIR": self.pki_dir,
            "REPORT_SIGNING_PASSPHRASE": PKI_PASSPHRASE,
            "REPORT_SIGNING_PASSPHRASES": {self.tenant_slug: "not the passphrase"},
            "REPORT_SIGNING_P12": {},
            "REPORT_TSA_URL": "",
            "REPORT_TRUST_ROOTS": [],
            "REPORT_FETCH_REVOCATION_INFO": False,
            "REPORT_PKCS11_MODULE": str(SOFTHSM),
            "REPORT_PKCS11_TOKEN_LABEL": TOKEN_LABEL,
            "REPORT_PKCS11_PIN": "",
            "REPORT_PKCS11_KEY_LABEL": "{slug}",
        }


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: Any, django_db_setup: None, django_db_blocker: Any) -> SoftToken:
    if not SOFTHSM.exists() or not shutil.which("softhsm2-util"):
        pytest.fail("SoftHSM (Debian's softhsm2, installed by .ci/run) is needed for the token tests")
    home = tmp_path_factory.mktemp("softhsm")
    tokens = home / "tokens"
    tokens.mkdir()
    config = home / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    # Before the library's first load in this process, and for the softhsm2-util runs below.
    os.environ["SOFTHSM2_CONF"] = str(config)
    softhsm2_util("--init-token", "--free", "--label", TOKEN_LABEL, "--so-pin", TOKEN_SO_PIN, "--pin", TOKEN_PIN)

    pki_dir = home / "pki"
    with (
        override_settings(REPORT_PKI_DIR=pki_dir, REPORT_SIGNING_PASSPHRASE=PKI_PASSPHRASE),
        django_db_blocker.unblock(),
    ):
        pki.ensure_demo_pki(tenant_slugs=[TOKEN_TENANT])
    key, certificate, _chain = pkcs12.load_key_and_certificates(
        (pki_dir / f"{TOKEN_TENANT}.p12").read_bytes(), PKI_PASSPHRASE.encode()
    )
    if key is None or certificate is None:
        pytest.fail("the demo PKI issued no key for the token")
    key_file = home / "key.pem"
    key_file.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    softhsm2_util(
        *["--import", str(key_file), "--token", TOKEN_LABEL, "--label", TOKEN_TENANT, "--id", "01"],
        *["--pin", TOKEN_PIN],
    )
    key_file.unlink()
    # softhsm2-util imports keys only: the certificate goes in through PKCS#11, under the same label.
    with pkcs11.lib(str(SOFTHSM)).get_token(token_label=TOKEN_LABEL).open(rw=True, user_pin=TOKEN_PIN) as session:
        session.create_object(
            {
                pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
                pkcs11.Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                pkcs11.Attribute.TOKEN: True,
                pkcs11.Attribute.LABEL: TOKEN_TENANT,
                pkcs11.Attribute.ID: b"\x01",
                pkcs11.Attribute.SUBJECT: certificate.subject.public_bytes(),
                pkcs11.Attribute.VALUE: certificate.public_bytes(Encoding.DER),
            }
        )
    return SoftToken(pki_dir=pki_dir, pin=TOKEN_PIN, tenant_slug=TOKEN_TENANT)


@pytest.fixture
def pkcs11_token(settings: Any, softhsm_token: SoftToken) -> SoftToken:
    """Signing goes through the token for this test."""
    for name, value in softhsm_token.settings().items():
        setattr(settings, name, value)
    return softhsm_token


def softhsm2_util(*arguments: str) -> None:
    subprocess.run(["softhsm2-util", *arguments], check=True, capture_output=True)
