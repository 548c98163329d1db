"""The revocation data the server holds, read whatever a signed file embeds.

A file carries the CRL of the day it was signed (PAdES B-LT), which says nothing of a later
revocation; the verifier therefore asks the server's own copy: the demo CA's CRL
(:mod:`reporting.pki`) and, for real certificates, the CRLs of ``REPORT_REVOCATION_CRLS``
(files kept fresh by the operator, or URLs fetched with a short timeout and cached for
``REPORT_REVOCATION_CACHE_SECONDS``). A CRL counts only when its issuer's signature over it
verifies under a trusted root.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.request import urlopen

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from django.conf import settings
from django.core.cache import cache

from reporting.pki import demo_crl, trust_roots

logger = logging.getLogger(__name__)

CRL_FETCH_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Revocation:
    """What the server's revocation data says of a certificate."""

    checked: bool
    revoked_at: datetime | None


def revocation_of(certificate: asn1_x509.Certificate) -> Revocation:
    """Whether the server's CRLs for the certificate's issuer list it, and since when."""
    checked = False
    issuers = [
        x509.load_der_x509_certificate(root.dump())
        for root in trust_roots()
        if root.subject.dump() == certificate.issuer.dump()
    ]
    for crl in _server_crls():
        issuer = next((candidate for candidate in issuers if candidate.subject == crl.issuer), None)
        if issuer is None or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            continue
        checked = True
        entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
        if entry is not None:
            return Revocation(checked=True, revoked_at=entry.revocation_date_utc)
    return Revocation(checked=checked, revoked_at=None)


def _server_crls() -> list[x509.CertificateRevocationList]:
    crls = []
    demo = demo_crl()
    if demo is not None:
        crls.append(x509.load_der_x509_crl(demo.dump()))
    for source in getattr(settings, "REPORT_REVOCATION_CRLS", []):
        data = _crl_bytes(str(source))
        if data is None:
            continue
        try:
            crls.append(x509.load_der_x509_crl(data) if not data.startswith(b"-----") else x509.load_pem_x509_crl(data))
        except ValueError:
            logger.warning("The CRL %s cannot be read", source)
    return crls


def _crl_bytes(source: str) -> bytes | None:
    if not source.startswith(("http://", "https://")):
        try:
            return Path(source).read_bytes()
        except OSError:
            logger.warning("The CRL file %s cannot be read", source)
            return None
    key = f"reporting:crl:{source}"
    data: bytes | None = cache.get(key)
    if data is None:
        try:
            # Only http(s) reaches here (a path is read above): the addresses the settings name.
            with urlopen(source, timeout=CRL_FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
                data = bytes(response.read())
        except OSError:
            logger.warning("The CRL %s cannot be fetched", source)
            return None
        cache.set(key, data, getattr(settings, "REPORT_REVOCATION_CACHE_SECONDS", 3600))
    return data
