"""The demo public-key infrastructure that lets reports be signed out of the box.

Under ``settings.REPORT_PKI_DIR`` (``var/pki`` by default, never committed):

- ``demo-root-ca.pem`` / ``demo-root-ca.key.pem``: the demo root CA ("healthplans demo root CA");
- ``demo-tsa.pem`` / ``demo-tsa.key.pem``: a time-stamping authority issued by it (EKU timeStamping),
  used in-process when no ``REPORT_TSA_URL`` is configured;
- ``demo-root-ca.crl``: the root's CRL (DER), embedded in each signature's DSS so that demo
  signatures are PAdES B-LT, and read by the verifier whatever a file embeds; it is re-issued
  when it nears its next update or when a tenant's key is revoked (``certificate_revoke``,
  ``manage.py revoke_signing_key``), keeping its revocations;
- ``<slug>.p12``: per tenant, the signer's key and certificate (CN = the tenant's name).

Every key is encrypted with ``settings.REPORT_SIGNING_PASSPHRASE``. Files are created only when
missing, under a file lock, so that two workers starting at once agree on one root.
"""

import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from healthplans.models import Tenant

ROOT_CERT = "demo-root-ca.pem"
ROOT_KEY = "demo-root-ca.key.pem"
ROOT_CRL = "demo-root-ca.crl"
TSA_CERT = "demo-tsa.pem"
TSA_KEY = "demo-tsa.key.pem"

ROOT_COMMON_NAME = "healthplans demo root CA"
DEMO_ORGANIZATION = "healthplans – hệ thống chứng thư số thử nghiệm (demo)"
# Not fetched by anyone (the .invalid domain never resolves): it only tells validators that
# the demo certificates have revocation information, which the CRL file provides offline.
CRL_DISTRIBUTION_POINT = "http://pki.healthplans.invalid/demo-root-ca.crl"

ROOT_VALIDITY = timedelta(days=365 * 20)
LEAF_VALIDITY = timedelta(days=365 * 10)
CRL_VALIDITY = timedelta(days=90)
CRL_REISSUE_BEFORE = timedelta(days=30)
# Certificates start a little in the past so that a clock a few minutes behind still accepts them.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class DemoTsa:
    certificate: asn1_x509.Certificate
    private_key: asn1_keys.PrivateKeyInfo


def pki_dir() -> Path:
    return Path(settings.REPORT_PKI_DIR)


def signing_passphrase(tenant_slug: str | None = None) -> bytes:
    """The passphrase of a tenant's PKCS#12 file (a per-tenant one wins) or of the demo keys."""
    per_tenant: dict[str, str] = getattr(settings, "REPORT_SIGNING_PASSPHRASES", {})
    passphrase = (per_tenant.get(tenant_slug) if tenant_slug else None) or settings.REPORT_SIGNING_PASSPHRASE
    if not passphrase:
        raise ImproperlyConfigured(
            "REPORT_SIGNING_PASSPHRASE is not set: the signing keys cannot be opened or created."
        )
    return str(passphrase).encode()


def tenant_p12_path(tenant_slug: str) -> Path:
    """The tenant's PKCS#12 file: REPORT_SIGNING_P12_<SLUG> if configured, else the demo one."""
    setting_name = "REPORT_SIGNING_P12_" + tenant_slug.upper().replace("-", "_")
    configured = getattr(settings, setting_name, None) or getattr(settings, "REPORT_SIGNING_P12", {}).get(tenant_slug)
    return Path(configured) if configured else pki_dir() / f"{tenant_slug}.p12"


def is_demo_p12(tenant_slug: str) -> bool:
    return tenant_p12_path(tenant_slug) == pki_dir() / f"{tenant_slug}.p12"


def ensure_demo_pki(*, tenant_slugs: Iterable[str] | None = None) -> Path:
    """Create whatever part of the demo PKI is missing (for every tenant by default); idempotent.

    Returns the PKI directory. Tenants whose key file is configured elsewhere get no demo key.
    """
    passphrase = signing_passphrase()
    directory = pki_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tenants = Tenant.objects.order_by("slug")
    if tenant_slugs is not None:
        tenants = tenants.filter(slug__in=list(tenant_slugs))
    tenant_names = {tenant.slug: tenant.name for tenant in tenants}
    now = datetime.now(UTC)
    with _locked(directory):
        root_key, root_cert = _ensure_root(directory, passphrase, now)
        _ensure_tsa(directory, passphrase, now, root_key, root_cert)
        _ensure_crl(directory, now, root_key, root_cert)
        for slug, name in tenant_names.items():
            if is_demo_p12(slug) and not (directory / f"{slug}.p12").exists():
                _issue_tenant_p12(directory, slug, name, now, root_key, root_cert)
    return directory


def demo_root_certificate() -> asn1_x509.Certificate | None:
    path = pki_dir() / ROOT_CERT
    if not path.exists():
        return None
    return asn1_x509.Certificate.load(_pem_to_der(path.read_bytes()))


def demo_crl() -> asn1_crl.CertificateList | None:
    path = pki_dir() / ROOT_CRL
    if not path.exists():
        return None
    return asn1_crl.CertificateList.load(path.read_bytes())


def demo_tsa() -> DemoTsa:
    directory = pki_dir()
    certificate = x509.load_pem_x509_certificate((directory / TSA_CERT).read_bytes())
    private_key = serialization.load_pem_private_key((directory / TSA_KEY).read_bytes(), signing_passphrase())
    return DemoTsa(
        certificate=asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
        private_key=asn1_keys.PrivateKeyInfo.load(
            private_key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
    )


def trust_roots() -> list[asn1_x509.Certificate]:
    """The demo root (when there is one) and every root of ``settings.REPORT_TRUST_ROOTS``."""
    roots = []
    demo_root = demo_root_certificate()
    if demo_root is not None:
        roots.append(demo_root)
    for path in getattr(settings, "REPORT_TRUST_ROOTS", []):
        data = Path(path).read_bytes()
        roots.append(asn1_x509.Certificate.load(_pem_to_der(data)))
    return roots


# --- issuing -----------------------------------------------------------------------------------


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _write_atomically(path: Path, data: bytes, *, secret: bool) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o600 if secret else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _new_key() -> rsa.RSAPrivateKey:
    # RSA, not EC: pyHanko's in-process time-stamper signs with RSA only, and tokens all do RSA.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, organization: str = DEMO_ORGANIZATION) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _encrypted_pem(key: rsa.RSAPrivateKey, passphrase: bytes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def _ensure_root(directory: Path, passphrase: bytes, now: datetime) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    cert_path, key_path = directory / ROOT_CERT, directory / ROOT_KEY
    if cert_path.exists() and key_path.exists():
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), passphrase)
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{key_path} does not open with REPORT_SIGNING_PASSPHRASE: the passphrase changed since the demo "
                f"PKI was made. Restore it, or delete {key_path.parent} to make a new demo PKI."
            ) from error
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ImproperlyConfigured(f"{key_path} does not hold an RSA key.")
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = _new_key()
    name = _name(ROOT_COMMON_NAME)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_atomically(key_path, _encrypted_pem(key, passphrase), secret=True)
    _write_atomically(cert_path, certificate.public_bytes(serialization.Encoding.PEM), secret=False)
    # A new root invalidates whatever the old one issued.
    demo_p12s = [path for path in directory.glob("*.p12") if is_demo_p12(path.stem)]
    for stale in [directory / TSA_CERT, directory / TSA_KEY, directory / ROOT_CRL, *demo_p12s]:
        stale.unlink(missing_ok=True)
    return key, certificate


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_builder(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    now: datetime,
    root_key: rsa.RSAPrivateKey,
    root_cert: x509.Certificate,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + LEAF_VALIDITY, root_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(CRL_DISTRIBUTION_POINT)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    )


def _ensure_tsa(
    directory: Path,
    passphrase: bytes,
    now: datetime,
    root_key: rsa.RSAPrivateKey,
    root_cert: x509.Certificate,
) -> None:
    cert_path, key_path = directory / TSA_CERT, directory / TSA_KEY
    if cert_path.exists() and key_path.exists():
        return
    key = _new_key()
    certificate = (
        _leaf_builder(_name("healthplans demo TSA"), key, now, root_key, root_cert)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        # RFC 3161 § 2.3: the time-stamping purpose must be the only one, and critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    _write_atomically(key_path, _encrypted_pem(key, passphrase), secret=True)
    _write_atomically(cert_path, certificate.public_bytes(serialization.Encoding.PEM), secret=False)


def _ensure_crl(
    directory: Path,
    now: datetime,
    root_key: rsa.RSAPrivateKey,
    root_cert: x509.Certificate,
    *,
    revoke: x509.RevokedCertificate | None = None,
) -> None:
    path = directory / ROOT_CRL
    revoked: list[x509.RevokedCertificate] = []
    if path.exists():
        current = x509.load_der_x509_crl(path.read_bytes())
        next_update = current.next_update_utc
        if revoke is None and next_update is not None and next_update - now > CRL_REISSUE_BEFORE:
            return
        # A re-issued CRL keeps every revocation: a revoked key stays revoked.
        revoked = [entry for entry in current if revoke is None or entry.serial_number != revoke.serial_number]
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root_cert.subject)
        .last_update(now - CLOCK_SKEW)
        .next_update(now + CRL_VALIDITY)
        # Two revocations within a second still get increasing numbers.
        .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
    )
    for entry in [*revoked, *([revoke] if revoke is not None else [])]:
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(root_key, hashes.SHA256())
    _write_atomically(path, crl.public_bytes(serialization.Encoding.DER), secret=False)


def certificate_revoke(*, tenant_slug: str, revoked_at: datetime | None = None) -> datetime:
    """Put the tenant's demo signing certificate on the demo CA's CRL (from ``revoked_at``, now by
    default: a key known to be compromised since an earlier moment is revoked from then on).

    The verifier reads this CRL whatever a signed file embeds, so every report signed with the
    key from that moment on reads "revoked". Returns the revocation time. Real certificates are
    revoked by their CA, whose CRL or OCSP responder the verifier is configured with.
    """
    if not is_demo_p12(tenant_slug):
        raise ImproperlyConfigured(f"The key of {tenant_slug} is not a demo key: its own CA revokes it.")
    path = tenant_p12_path(tenant_slug)
    if not path.exists():
        raise ImproperlyConfigured(f"{tenant_slug} has no demo signing key to revoke ({path}).")
    _key, certificate, _others = pkcs12.load_key_and_certificates(path.read_bytes(), signing_passphrase(tenant_slug))
    if certificate is None:
        raise ImproperlyConfigured(f"{path} holds no certificate.")
    now = datetime.now(UTC)
    moment = min(revoked_at or now, now)
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(certificate.serial_number)
        .revocation_date(moment)
        .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
        .build()
    )
    directory = pki_dir()
    with _locked(directory):
        root_key, root_cert = _ensure_root(directory, signing_passphrase(), now)
        _ensure_crl(directory, now, root_key, root_cert, revoke=entry)
    return moment


def _issue_tenant_p12(
    directory: Path,
    slug: str,
    tenant_name: str,
    now: datetime,
    root_key: rsa.RSAPrivateKey,
    root_cert: x509.Certificate,
) -> None:
    key = _new_key()
    certificate = (
        _leaf_builder(_name(tenant_name, organization=tenant_name), key, now, root_key, root_cert)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        name=slug.encode(),
        key=key,
        cert=certificate,
        cas=[root_cert],
        encryption_algorithm=serialization.BestAvailableEncryption(signing_passphrase(slug)),
    )
    _write_atomically(directory / f"{slug}.p12", data, secret=True)


def _pem_to_der(data: bytes) -> bytes:
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    return data
