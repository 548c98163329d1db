"""Signing reports with a tenant's key (PAdES B-T/B-LT, visible stamp) and verifying any PDF."""

import hashlib
import shutil
import subprocess
from datetime import datetime, timedelta
from io import BytesIO, StringIO
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import override_settings
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext
from weasyprint import HTML

from healthplans.models import Tenant
from reporting import pki
from reporting.signing import SigningFailed, sign_pdf
from reporting.verification import Kind, verify_pdf

pytestmark = pytest.mark.django_db

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
PASSPHRASE = "test-only-signing-passphrase"
SIGNER = "Nguyễn Thị Hồng Nhung"
TITLE = "Phó Giám đốc Sở Y tế"
ARTEFACTS = Path(django_settings.BASE_DIR) / "artefacts" / "reports"

REPORT_HTML = """
<html lang="vi"><head><style>
  @page { size: A4; margin: 20mm 15mm 20mm 30mm; }
  body { font-family: "Liberation Serif", serif; font-size: 13pt; }
  h1 { text-align: center; font-size: 14pt; }
</style></head><body>
  <p>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br>Độc lập - Tự do - Hạnh phúc</p>
  <h1>BÁO CÁO</h1>
  <p>Kết quả thực hiện kế hoạch chăm sóc sức khỏe nhân dân năm 2025.</p>
  <p style="break-before: page">Tỷ lệ trạm y tế xã có bác sĩ làm việc: 94,15%.</p>
</body></html>
"""


def make_pdf(html: str = REPORT_HTML) -> bytes:
    return bytes(HTML(string=html).write_pdf())


def signed_at_now() -> datetime:
    return datetime.now(VIETNAM).replace(microsecond=0)


def pki_settings(directory: Path) -> dict[str, object]:
    """Settings of a demo PKI in ``directory``, whatever the environment of the test run says."""
    return {
        "REPORT_PKI_DIR": directory,
        "REPORT_SIGNING_PASSPHRASE": PASSPHRASE,
        "REPORT_SIGNING_PASSPHRASES": {},
        "REPORT_SIGNING_P12": {},
        "REPORT_TSA_URL": "",
        "REPORT_PKCS11_MODULE": "",
        "REPORT_TRUST_ROOTS": [],
        "REPORT_FETCH_REVOCATION_INFO": False,
    }


def use_pki(settings, directory: Path) -> None:
    for name, value in pki_settings(directory).items():
        setattr(settings, name, value)


def sign(pdf: bytes, *, tenant_slug: str = "lao-cai", signed_at: datetime | None = None) -> bytes:
    return sign_pdf(
        pdf,
        tenant_slug=tenant_slug,
        signer_name=SIGNER,
        signer_title=TITLE,
        reason="Phát hành báo cáo kết quả thực hiện kế hoạch",
        location="Lào Cai",
        signed_at=signed_at or signed_at_now(),
    )


@pytest.fixture(scope="module")
def shared_pki(tmp_path_factory, django_db_setup, django_db_blocker) -> tuple[Path, bytes]:
    """One demo PKI and one signed report for the module: RSA keys and stamp fonts take a while."""
    directory = tmp_path_factory.mktemp("signing-pki")
    with override_settings(**pki_settings(directory)), django_db_blocker.unblock():
        pki.ensure_demo_pki()
        return directory, sign(make_pdf())


@pytest.fixture
def demo_pki(settings, shared_pki) -> Path:
    directory, _signed = shared_pki
    use_pki(settings, directory)
    return directory


@pytest.fixture
def signed_pdf(demo_pki: Path, shared_pki) -> bytes:
    """A report signed for Lào Cai (tests that change it work on a copy: bytes are immutable)."""
    _directory, signed = shared_pki
    return signed


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def byte_range(pdf: bytes) -> list[int]:
    signature = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures[0]
    return [int(value) for value in signature.sig_object["/ByteRange"]]


def flip(pdf: bytes, offset: int) -> bytes:
    data = bytearray(pdf)
    data[offset] ^= 0x01
    return bytes(data)


def page_count(pdf: bytes) -> int:
    return int(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Count"])


# --- signing and the verdict on a good signature -------------------------------------------------


def test_signed_report_is_valid_intact_trusted_and_timestamped(signed_pdf):
    verification = verify_pdf(signed_pdf)

    assert verification.valid, verification.problems
    assert verification.intact
    assert verification.trusted
    assert verification.timestamped
    assert verification.signed_by == "Sở Y tế tỉnh Lào Cai"
    assert verification.kind == Kind.INTACT
    assert verification.problems == []


def test_signed_at_is_the_timestamp_time_in_vietnam(demo_pki):
    before = datetime.now(VIETNAM) - timedelta(seconds=2)
    verification = verify_pdf(sign(make_pdf()))
    after = datetime.now(VIETNAM) + timedelta(seconds=2)

    assert verification.signed_at is not None
    assert verification.signed_at.utcoffset() == timedelta(hours=7)
    assert before <= verification.signed_at <= after


def test_signature_is_pades_with_the_officials_time_reason_and_location(demo_pki):
    # The official pressed "Ký số và phát hành" a few minutes before the worker got to it.
    signed_at = signed_at_now() - timedelta(minutes=3)

    signature = PdfFileReader(BytesIO(sign(make_pdf(), signed_at=signed_at))).embedded_regular_signatures[0]

    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.sig_object["/Reason"] == "Phát hành báo cáo kết quả thực hiện kế hoạch"
    assert signature.sig_object["/Location"] == "Lào Cai"
    assert signature.sig_object["/Name"] == SIGNER
    assert signature.self_reported_timestamp == signed_at


def test_pdfsig_reports_the_signature_valid(signed_pdf, tmp_path):
    path = write(tmp_path, "signed.pdf", signed_pdf)

    output = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout

    assert "Signature Validation: Signature is Valid." in output, output


def test_validation_info_is_embedded_in_the_dss_when_the_crl_is_at_hand(signed_pdf):
    reader = PdfFileReader(BytesIO(signed_pdf))

    dss = reader.root["/DSS"]

    assert len(dss["/CRLs"]) >= 1
    assert len(dss["/Certs"]) >= 2  # the tenant's and the TSA's certificates, with the root
    # One revision: the signature covers the whole file, DSS included.
    assert byte_range(signed_pdf)[2] + byte_range(signed_pdf)[3] == len(signed_pdf)


def test_without_a_crl_the_signature_is_still_timestamped(demo_pki, settings):
    (demo_pki / pki.ROOT_CRL).unlink()
    try:
        signed = sign_pdf_without_refreshing_crl(make_pdf())
    finally:
        pki.ensure_demo_pki()

    verification = verify_pdf(signed)
    assert verification.valid, verification.problems
    assert verification.timestamped
    # The chain is still embedded, but without revocation data the signature is B-T, not B-LT.
    dss = PdfFileReader(BytesIO(signed)).root["/DSS"]
    assert "/Certs" in dss
    assert "/CRLs" not in dss


def sign_pdf_without_refreshing_crl(pdf: bytes) -> bytes:
    with mock.patch("reporting.signing.ensure_demo_pki"):
        return sign(pdf)


# --- what must read as altered, unsigned or unreadable ----------------------------------------------


def contents_hex_offset(pdf: bytes, needle: bytes, into: int) -> int:
    """Where in the file the hex digits of byte ``into`` of ``needle`` (inside /Contents) are."""
    signature = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures[0]
    _start1, length1, _start2, _length2 = byte_range(pdf)
    position = signature.pkcs7_content.find(needle)
    assert position >= 0
    return length1 + 1 + 2 * (position + into)


def signer_info(pdf: bytes):
    return PdfFileReader(BytesIO(pdf)).embedded_regular_signatures[0].signer_info


@pytest.mark.parametrize(
    "where",
    [
        "first range",
        "second range",
        "signature value",
        "signer identifier",
        "root certificate copy",
        "time-stamping authority copy",
        "signature padding",
    ],
)
def test_one_flipped_byte_makes_the_document_altered(signed_pdf, where):
    start1, length1, start2, length2 = byte_range(signed_pdf)
    root = pki.demo_root_certificate()
    assert root is not None
    tsa = pki.demo_tsa().certificate
    sid = signer_info(signed_pdf)["sid"].dump()
    offset = {
        "first range": start1 + length1 // 2,
        "second range": start2 + length2 // 2,
        # Inside /Contents, outside the signed ranges:
        "signature value": contents_hex_offset(signed_pdf, signer_info(signed_pdf)["signature"].contents, 40),
        # a letter's case in the issuer name of the signer identifier (0x87 → 0x86: "ệ" → "Ệ"):
        # names match case-insensitively, so validation alone would still find the certificate
        "signer identifier": contents_hex_offset(signed_pdf, sid, sid.find("ệ".encode()) + 2) + 1,
        # the issuer name of the copy of the root, which validation takes from the trust list
        "root certificate copy": contents_hex_offset(signed_pdf, root.dump(), 100),
        "time-stamping authority copy": contents_hex_offset(signed_pdf, tsa.dump(), 300),
        "signature padding": start2 - 3,  # the zeros after the CMS object
    }[where]

    verification = verify_pdf(flip(signed_pdf, offset))

    assert not verification.valid
    assert not verification.intact
    assert verification.kind in {Kind.MODIFIED, Kind.INVALID, Kind.UNREADABLE}
    assert verification.problems


def test_a_flipped_byte_anywhere_in_the_signed_ranges_is_caught(signed_pdf):
    start1, length1, start2, length2 = byte_range(signed_pdf)
    offsets = [*range(start1, length1, 311), *range(start2, start2 + length2, 311), len(signed_pdf) - 2]
    for offset in offsets:
        verification = verify_pdf(flip(signed_pdf, offset))
        assert not verification.valid, offset
        assert not verification.intact, offset


def test_incremental_update_that_changes_page_content_reads_as_altered(signed_pdf):
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf))
    last_page = page_count(signed_pdf) - 1
    forged = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 400 Td (DA SUA) Tj ET"))
    writer.add_stream_to_page(last_page, forged)
    output = BytesIO()
    writer.write(output)

    verification = verify_pdf(output.getvalue())

    # The signed revision itself is untouched (and still names the signed file)...
    assert verification.signed_sha256 == hashlib.sha256(signed_pdf).hexdigest()
    assert not verification.valid
    assert not verification.intact
    assert verification.kind == Kind.MODIFIED
    assert "Tài liệu đã bị thay đổi sau khi ký." in verification.problems


def test_incremental_update_that_replaces_the_page_content_reads_as_altered(signed_pdf):
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf))
    page_ref, _resources = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 400 Td (X) Tj ET"))
    writer.update_container(page)
    output = BytesIO()
    writer.write(output)

    verification = verify_pdf(output.getvalue())

    assert not verification.valid
    assert verification.kind == Kind.MODIFIED


def test_later_document_timestamp_and_validation_data_keep_the_document_valid(signed_pdf):
    # What an archive does to keep a signature verifiable (PAdES B-LTA): a DSS update and a
    # document timestamp appended after the signature. They change no content.
    tsa = pki.demo_tsa()
    crl = pki.demo_crl()
    assert crl is not None
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf))
    output = PdfTimeStamper(DummyTimeStamper(tsa_cert=tsa.certificate, tsa_key=tsa.private_key)).timestamp_pdf(
        writer, "sha256", validation_context=ValidationContext(trust_roots=pki.trust_roots(), crls=[crl])
    )

    verification = verify_pdf(output.getvalue())

    assert len(output.getvalue()) > len(signed_pdf)
    assert verification.valid, verification.problems
    assert verification.kind == Kind.INTACT


def test_unsigned_pdf_has_no_signature(demo_pki):
    verification = verify_pdf(make_pdf())

    assert not verification.valid
    assert not verification.intact
    assert verification.signed_by is None
    assert verification.kind == Kind.UNSIGNED


@pytest.mark.parametrize(
    "data",
    [b"", b"not a pdf at all", b"%PDF-1.7\n1 0 obj <<", bytes(range(256)) * 40],
    ids=["empty", "text", "truncated header", "binary"],
)
def test_garbage_is_invalid_and_never_raises(demo_pki, data):
    verification = verify_pdf(data)

    assert not verification.valid
    assert not verification.intact
    assert verification.problems


def test_truncated_signed_pdf_is_invalid(signed_pdf):
    verification = verify_pdf(signed_pdf[: len(signed_pdf) // 2])

    assert not verification.valid


def test_signature_from_another_root_is_intact_but_untrusted_and_names_no_signer(signed_pdf, settings, tmp_path):
    use_pki(settings, tmp_path / "other-pki")
    pki.ensure_demo_pki(tenant_slugs=[])

    verification = verify_pdf(signed_pdf)

    assert verification.intact
    assert not verification.trusted
    assert not verification.valid
    assert verification.kind == Kind.UNTRUSTED
    assert verification.signed_by is None  # named only when the signature chains to a trusted root


# --- the visible stamp ---------------------------------------------------------------------------


def test_stamp_on_the_last_page_carries_the_signer_with_diacritics(demo_pki, tmp_path):
    signed_at = signed_at_now()
    signed = sign(make_pdf(), signed_at=signed_at)
    path = write(tmp_path, "signed.pdf", signed)
    last = str(page_count(signed))

    last_page = subprocess.run(
        ["pdftotext", "-f", last, "-l", last, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    first_page = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout

    assert f"Ký bởi: {SIGNER}" in last_page
    assert TITLE in last_page
    # Written as Vietnamese documents write a time, in Vietnam's.
    assert signed_at.utcoffset() == timedelta(hours=7)
    assert f"Thời gian ký: {signed_at:%d/%m/%Y %H:%M}, GMT+7" in last_page
    assert "Ký bởi" not in first_page


def test_stamp_sits_bottom_right_inside_the_margins(signed_pdf):
    reader = PdfFileReader(BytesIO(signed_pdf))
    widget = reader.embedded_regular_signatures[0].sig_field
    x1, y1, x2, y2 = (float(value) for value in widget["/Rect"])
    page = widget["/P"]
    _left, _bottom, width, height = (float(value) for value in page["/MediaBox"])
    mm = 72 / 25.4

    assert widget.raw_get("/P").idnum == reader.find_page_for_modification(-1)[0].idnum
    assert x1 > width / 2
    assert x2 <= width - 15 * mm
    assert y1 >= 20 * mm
    assert y2 < height / 3


def test_stamp_is_rendered_as_an_artefact(signed_pdf, tmp_path):
    path = write(tmp_path, "signed.pdf", signed_pdf)
    last = str(page_count(signed_pdf))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)

    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", last, "-l", last, "-singlefile", str(path), str(ARTEFACTS / "stamp")],
        check=True,
    )

    assert (ARTEFACTS / "stamp.png").stat().st_size > 0


# --- the demo PKI ------------------------------------------------------------------------------------


def test_ensure_demo_pki_is_idempotent(settings, tmp_path):
    use_pki(settings, tmp_path / "pki")

    directory = pki.ensure_demo_pki()
    first = {path.name: path.read_bytes() for path in directory.iterdir()}
    pki.ensure_demo_pki()
    second = {path.name: path.read_bytes() for path in directory.iterdir()}

    assert first == second
    slugs = set(Tenant.objects.values_list("slug", flat=True))
    assert {f"{slug}.p12" for slug in slugs} | {
        pki.ROOT_CERT,
        pki.ROOT_KEY,
        pki.ROOT_CRL,
        pki.TSA_CERT,
        pki.TSA_KEY,
    } <= set(first)


def test_each_tenant_has_its_own_key_and_certificate_named_after_it(demo_pki):
    loaded = {
        slug: pkcs12.load_key_and_certificates((demo_pki / f"{slug}.p12").read_bytes(), PASSPHRASE.encode())
        for slug in ["lao-cai", "quang-ngai"]
    }

    keys = {}
    for slug, (key, _cert, _cas) in loaded.items():
        assert key is not None, slug
        keys[slug] = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert keys["lao-cai"] != keys["quang-ngai"]
    for slug, (_key, certificate, cas) in loaded.items():
        assert certificate is not None, slug
        name = Tenant.objects.get(slug=slug).name
        assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == name
        assert certificate.extensions.get_extension_for_class(pki.x509.KeyUsage).value.content_commitment
        assert certificate.extensions.get_extension_for_class(pki.x509.KeyUsage).value.digital_signature
        assert [ca.subject.rfc4514_string() for ca in cas] == [certificate.issuer.rfc4514_string()]


def test_second_tenant_signs_with_its_own_certificate(demo_pki):
    verification = verify_pdf(sign(make_pdf(), tenant_slug="quang-ngai"))

    assert verification.valid, verification.problems
    assert verification.signed_by == "Sở Y tế tỉnh Quảng Ngãi"


def test_tsa_certificate_is_for_time_stamping_only(demo_pki):
    certificate = pki.x509.load_pem_x509_certificate((demo_pki / pki.TSA_CERT).read_bytes())

    usage = certificate.extensions.get_extension_for_class(pki.x509.ExtendedKeyUsage)
    assert usage.critical
    assert list(usage.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_p12_opens_only_with_the_right_passphrase(demo_pki):
    data = (demo_pki / "lao-cai.p12").read_bytes()

    key, _certificate, _cas = pkcs12.load_key_and_certificates(data, PASSPHRASE.encode())
    assert key is not None
    with pytest.raises(ValueError, match=r"(?i)password|passphrase|decrypt|invalid"):
        pkcs12.load_key_and_certificates(data, b"wrong passphrase")
    with pytest.raises((ValueError, TypeError)):
        pkcs12.load_key_and_certificates(data, None)


def test_signing_with_the_wrong_passphrase_fails_with_a_reason(demo_pki, settings):
    settings.REPORT_SIGNING_PASSPHRASES = {"lao-cai": "not the passphrase"}

    with pytest.raises(SigningFailed, match="sai mật khẩu"):
        sign(make_pdf())


def test_a_configured_key_file_is_used_instead_of_the_demo_one(demo_pki, settings, tmp_path):
    real = tmp_path / "real-lao-cai.p12"
    shutil.copy(demo_pki / "quang-ngai.p12", real)
    settings.REPORT_SIGNING_P12_LAO_CAI = str(real)

    verification = verify_pdf(sign(make_pdf(), tenant_slug="lao-cai"))

    assert verification.signed_by == "Sở Y tế tỉnh Quảng Ngãi"


def test_missing_passphrase_is_a_configuration_error(settings, tmp_path):
    use_pki(settings, tmp_path / "pki")
    settings.REPORT_SIGNING_PASSPHRASE = ""

    with pytest.raises(pki.ImproperlyConfigured, match="REPORT_SIGNING_PASSPHRASE"):
        pki.ensure_demo_pki()


def test_a_changed_passphrase_is_a_configuration_error_not_a_new_root(demo_pki, settings):
    root_before = (demo_pki / pki.ROOT_CERT).read_bytes()
    settings.REPORT_SIGNING_PASSPHRASE = "another passphrase"

    with pytest.raises(pki.ImproperlyConfigured, match="passphrase changed"):
        pki.ensure_demo_pki()
    assert (demo_pki / pki.ROOT_CERT).read_bytes() == root_before


def test_demo_pki_command_creates_the_files(settings, tmp_path):
    use_pki(settings, tmp_path / "pki")

    output = StringIO()

    call_command("demo_pki", "--tenant", "thai-nguyen", stdout=output)

    assert (tmp_path / "pki" / "thai-nguyen.p12").exists()
    assert not (tmp_path / "pki" / "lao-cai.p12").exists()
    assert (tmp_path / "pki" / pki.ROOT_CRL).exists()
    assert "Demo PKI ready" in output.getvalue()


# --- a PKCS#11 token instead of key files ------------------------------------------------------------


def test_a_pkcs11_token_signs_in_place_of_the_key_file(pkcs11_token, settings):
    # The token of tests/reporting/conftest.py; the key file is out of reach, only the token can
    # sign. The worker's configured PIN unlocks it (the page asks the official for it instead).
    settings.REPORT_PKCS11_PIN = pkcs11_token.pin

    verification = verify_pdf(sign(make_pdf()))

    assert verification.valid, verification.problems
    assert verification.signed_by == "Sở Y tế tỉnh Lào Cai"


def test_a_wrong_token_pin_is_refused_in_words_and_signs_nothing(pkcs11_token, settings):
    settings.REPORT_PKCS11_PIN = "9999"

    with pytest.raises(SigningFailed) as refused:
        sign(make_pdf())

    assert str(refused.value) == "Mã PIN của thiết bị ký không đúng. Chưa có gì được ký."


def text_of_page(pdf: bytes, page: int, tmp_path: Path) -> str:
    path = write(tmp_path, f"page-{page}.pdf", pdf)
    return subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_stamp_goes_into_the_space_kept_above_the_signer_not_over_an_appendix(demo_pki, tmp_path):
    # A report whose signature block is followed by a landscape appendix: the stamp belongs in the
    # block's reserved space (the renderer's #signature-stamp), not over the appendix's table.
    rows = "".join(f"<tr><td>Chỉ tiêu {n}</td><td>{n},5</td></tr>" for n in range(70))
    pdf = make_pdf(
        "<style>@page { size: A4 } @page appendix { size: A4 landscape } .appendix { page: appendix }</style>"
        "<p>Báo cáo</p><div style='margin-left: 90mm'>KT. CHỦ TỊCH<div id='signature-stamp' style='height: 35mm'>"
        f"</div>{SIGNER}</div><div class='appendix'><table>{rows}</table></div>"
    )
    assert page_count(pdf) >= 3

    signed = sign(pdf)

    assert verify_pdf(signed).valid
    assert "Ký bởi" in text_of_page(signed, 1, tmp_path)
    for page in range(2, page_count(signed) + 1):
        assert "Ký bởi" not in text_of_page(signed, page, tmp_path)
