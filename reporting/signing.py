"""PAdES signatures on progress reports, and the verdict on any PDF that claims to carry one.

``sign_pdf`` signs with the tenant's key: PAdES (``ETSI.CAdES.detached``), a signature
timestamp from a TSA (B-T) and, where revocation information is at hand, the certificates
and CRLs/OCSP responses in the document security store of the same revision (B-LT), plus a
visible stamp on the last page ("Ký bởi", the signer, "Thời gian ký"). ``verify_pdf`` runs
pyHanko's overall validation and never raises: bad input gets a verdict with reasons.

Out of the box (``make run``, tests) everything comes from the demo PKI of
:mod:`reporting.pki`: a root CA, a TSA used in-process, a CRL and a key per tenant under
``var/pki``, whose keys are encrypted with ``REPORT_SIGNING_PASSPHRASE``.

Putting a real certificate in place
-----------------------------------

Everything is read from the environment (see the "Report signing" block of
``healthplans/settings/base.py``):

- **A PKCS#12 file per tenant** (``.p12``/``.pfx`` from a certification authority):
  ``REPORT_SIGNING_P12_<SLUG>=/run/secrets/lao-cai.p12`` (the slug upper-cased, ``-`` → ``_``,
  e.g. ``REPORT_SIGNING_P12_QUANG_NGAI``), its passphrase in
  ``REPORT_SIGNING_PASSPHRASE_<SLUG>`` or, shared by all, ``REPORT_SIGNING_PASSPHRASE``.
  The file should hold the whole chain (key, certificate, intermediates).
- **Or a PKCS#11 token / HSM** holding every tenant's key: ``REPORT_PKCS11_MODULE`` (the
  vendor's ``.so``), ``REPORT_PKCS11_TOKEN_LABEL``, ``REPORT_PKCS11_PIN`` and
  ``REPORT_PKCS11_KEY_LABEL`` (default ``{slug}``; ``{slug}`` becomes the tenant's slug; the
  certificate carries the same label). Needs ``pip install 'pyHanko[pkcs11]'``
  (python-pkcs11). When the module is set, the token wins over key files.
- **Trust**: ``REPORT_TRUST_ROOTS=/etc/healthplans/root-ca.pem,/etc/healthplans/tsa-root.pem``
  (PEM or DER files, comma-separated): the root of the signer's CA and of the TSA. Signing
  refuses a certificate that does not chain to a trusted root; ``/verify/`` trusts exactly
  these roots and the demo root.
- **A real time-stamping service** (RFC 3161): ``REPORT_TSA_URL=https://tsa.example.vn/tsa``.
  Without it the demo TSA stamps in-process, which is fine for a demo and worthless as
  evidence to anyone else.
- **Revocation data for B-LT**: the demo certificates' CRL is local; for real certificates
  set ``REPORT_FETCH_REVOCATION_INFO=true`` to let the signing worker fetch CRLs/OCSP
  responses (it then needs outbound HTTP); otherwise the signature is B-T with the
  certificate chain embedded.

What verification decides
-------------------------

``verify_pdf`` runs pyHanko's ``validate_pdf_signature`` on every signature: the digest of
the signed byte ranges, the CMS signature, the signer's chain to a trusted root (at the time
of the signature timestamp, with the revocation data embedded in the document, so that a
report stays verifiable after its signer's certificate has expired), the timestamp token,
and the difference analysis of later revisions: only DSS and document-timestamp updates
may follow the last signature (``ModificationLevel.LTA_UPDATES``); anything that touches
pages, annotations or forms reads as altered. It adds what a signature cannot cover: the
zero padding of ``/Contents``, the certificate copies carried in the CMS object (each must
still verify under its issuer) and the unsigned CMS fields (signer identifier byte for byte,
versions, digest algorithm list). What is left unprotected by design: removing the
signature-timestamp attribute leaves a valid signature without a timestamp
(``timestamped=False``). The exact file issued is known only by its SHA-256, which the
report keeps: the /verify/ pages should also compare the upload's hash with the reports'.

``verify_pdf`` and ``sign_pdf`` are synchronous (pyHanko runs its own event loop): call
them through ``sync_to_async`` from async code.
"""

import asyncio
import functools
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from asn1crypto import cms
from asn1crypto import parser as asn1_parser
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer, SimpleSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko.sign.timestamps import DummyTimeStamper, HTTPTimeStamper, TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext

from reporting.pki import demo_crl, demo_tsa, ensure_demo_pki, is_demo_p12, signing_passphrase, tenant_p12_path
from reporting.pki import trust_roots as configured_trust_roots

logger = logging.getLogger(__name__)

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SIGNATURE_FIELD = "KySoBaoCao"

# The stamp's place on the last page, in millimetres from the bottom-right corner of the page:
# inside the decree's margins (right 15–20 mm, bottom 20–25 mm), so the renderer keeps the
# bottom-right STAMP_WIDTH_MM × STAMP_HEIGHT_MM of the last page's text area free.
STAMP_RIGHT_MM = 20
STAMP_BOTTOM_MM = 20
STAMP_WIDTH_MM = 80
STAMP_HEIGHT_MM = 22
STAMP_FONT_SIZE = 9
# Below the top of the space the report keeps for the stamp (the signature-stamp destination).
STAMP_GAP_MM = 6
STAMP_TEXT = "Ký bởi: %(signer)s\n%(title)s\nThời gian ký: %(signed_at)s"

POINTS_PER_MM = 72 / 25.4
# What Vietnamese text needs of a font: Latin with its extensions, combining marks, the
# precomposed Vietnamese letters (U+1EA0–U+1EFF), punctuation and the đồng sign.
VIETNAMESE_UNICODES = [
    *range(0x20, 0x7F),
    *range(0xA0, 0x250),
    *range(0x300, 0x370),
    *range(0x1EA0, 0x1F00),
    *range(0x2000, 0x2070),
    0x20AB,
]


class SigningFailed(Exception):
    """The report could not be signed; the message says why, for the page and the API."""


@dataclass(frozen=True)
class Verification:
    valid: bool
    intact: bool
    trusted: bool
    signed_by: str | None
    signed_at: datetime | None
    timestamped: bool
    summary: str
    problems: list[str] = field(default_factory=list)


SUMMARY_VALID = "Chữ ký hợp lệ, tài liệu nguyên vẹn"
SUMMARY_ALTERED = "Tài liệu đã bị thay đổi sau khi ký"
SUMMARY_UNTRUSTED = "Chữ ký nguyên vẹn nhưng không được tin cậy"
SUMMARY_NO_SIGNATURE = "Không có chữ ký số"
SUMMARY_UNREADABLE = "Không đọc được tệp PDF"


# --- signing -----------------------------------------------------------------------------------


def sign_pdf(
    pdf: bytes,
    *,
    tenant_slug: str,
    signer_name: str,
    signer_title: str,
    reason: str,
    location: str,
    signed_at: datetime,
) -> bytes:
    """Sign ``pdf`` with the tenant's key: PAdES B-T, B-LT where revocation info is at hand."""
    if signed_at.tzinfo is None:
        raise ValueError("signed_at must be timezone-aware")
    signed_at = signed_at.astimezone(VIETNAM)
    # Database and file work happen here, outside pyHanko's event loop (Django's ORM refuses
    # to run inside one).
    if (not settings.REPORT_PKCS11_MODULE and is_demo_p12(tenant_slug)) or not settings.REPORT_TSA_URL:
        ensure_demo_pki(tenant_slugs=[tenant_slug])
    timestamper = _timestamper()
    crl = demo_crl()
    fetching = bool(getattr(settings, "REPORT_FETCH_REVOCATION_INFO", False))
    validation_context = ValidationContext(
        trust_roots=configured_trust_roots(),
        crls=[crl] if crl is not None else None,
        allow_fetching=fetching,
        revocation_mode="soft-fail",
    )
    metadata = PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        name=signer_name,
        reason=reason,
        location=location,
        subfilter=SigSeedSubFilter.PADES,
        validation_context=validation_context,
        embed_validation_info=crl is not None or fetching,
        # Validation data in the signature's own revision: one revision, which every reader
        # (poppler, Acrobat) sees as covering the whole file.
        dss_settings=DSSContentSettings(placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False),
    )
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf))
        page, box = _stamp_place(writer)
        field_spec = SigFieldSpec(SIGNATURE_FIELD, on_page=page, box=box)
        text_params = {
            "signer": signer_name,
            "title": signer_title,
            # not "ts": pyHanko overwrites that one with its own format of the signing time
            "signed_at": signed_at.isoformat(timespec="seconds"),
        }
        with _tenant_signer(tenant_slug) as signer:
            pdf_signer = PdfSigner(
                metadata, signer, timestamper=timestamper, stamp_style=_stamp_style(), new_field_spec=field_spec
            )
            return asyncio.run(_sign(pdf_signer, writer, signed_at, text_params, validation_context))
    except (SigningFailed, ImproperlyConfigured):
        raise
    except Exception as error:
        logger.exception("Signing for tenant %s failed", tenant_slug)
        raise SigningFailed(f"Không ký được báo cáo: {error}") from error


async def _sign(
    pdf_signer: PdfSigner,
    writer: IncrementalPdfFileWriter,
    signed_at: datetime,
    text_params: dict[str, str],
    validation_context: ValidationContext,
) -> bytes:
    """PdfSigner.async_sign_pdf, except that the signing time is the official's, not the clock's."""
    try:
        session = pdf_signer.init_signing_session(writer)
        # The signature dictionary's /M and the CMS signingTime; the timestamp stays the TSA's.
        session.system_time = signed_at
        validation_info = await session.perform_presign_validation(writer)
        bytes_reserved = await session.estimate_signature_container_size(validation_info, tight=False)
        tbs_document = session.prepare_tbs_document(
            validation_info=validation_info,
            bytes_reserved=bytes_reserved,
            appearance_text_params=text_params,
        )
        prepared, output = tbs_document.digest_tbs_document()
        signed_document = await tbs_document.perform_signature(
            document_digest=prepared.document_digest,
            pdf_cms_signed_attrs=PdfCMSSignedAttributes(
                signing_time=signed_at,
                adobe_revinfo_attr=None if validation_info is None else validation_info.adobe_revinfo_attr,
                cades_signed_attrs=pdf_signer.signature_meta.cades_signed_attr_spec,
            ),
        )
        await signed_document.post_signature_processing(output)
        output.seek(0)
        return bytes(output.read())
    finally:
        await validation_context.aclose()


def _timestamper() -> TimeStamper:
    if settings.REPORT_TSA_URL:
        return HTTPTimeStamper(settings.REPORT_TSA_URL, timeout=30)
    tsa = demo_tsa()
    return DummyTimeStamper(tsa_cert=tsa.certificate, tsa_key=tsa.private_key)


@contextmanager
def _tenant_signer(tenant_slug: str) -> Iterator[Signer]:
    if settings.REPORT_PKCS11_MODULE:
        with _pkcs11_signer(tenant_slug) as signer:
            yield signer
        return
    path = tenant_p12_path(tenant_slug)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SigningFailed(f"Không đọc được tệp khóa ký của đơn vị {tenant_slug} ({path}): {error}") from error
    try:
        yield SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=signing_passphrase(tenant_slug))
    except ValueError as error:
        raise SigningFailed(
            f"Không mở được tệp khóa ký {path.name}: sai mật khẩu (REPORT_SIGNING_PASSPHRASE) hoặc tệp hỏng."
        ) from error


@contextmanager
def _pkcs11_signer(tenant_slug: str) -> Iterator[Signer]:
    try:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
    except ImportError as error:
        raise ImproperlyConfigured(
            "REPORT_PKCS11_MODULE is set but python-pkcs11 is missing: pip install 'pyHanko[pkcs11]'."
        ) from error
    label = settings.REPORT_PKCS11_KEY_LABEL.format(slug=tenant_slug)
    token_label = settings.REPORT_PKCS11_TOKEN_LABEL
    session = open_pkcs11_session(
        settings.REPORT_PKCS11_MODULE,
        token_criteria=TokenCriteria(label=token_label) if token_label else None,
        user_pin=settings.REPORT_PKCS11_PIN or None,
    )
    try:
        yield PKCS11Signer(session, cert_label=label, key_label=label)
    finally:
        session.close()


def _stamp_style() -> TextStampStyle:
    # Noto Serif has 1000 units per em: pyHanko 0.38 spreads the letters of 2048-unit fonts.
    font = GlyphAccumulatorFactory(_vietnamese_font_file(str(settings.REPORT_STAMP_FONT)), font_size=STAMP_FONT_SIZE)
    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        text_box_style=TextBoxStyle(font=font, font_size=STAMP_FONT_SIZE, leading=STAMP_FONT_SIZE + 3),
        border_width=1,
    )


@functools.cache
def _vietnamese_font_file(source: str) -> str:
    """The font cut down to Vietnamese, made once per font file and kept under var/cache.

    pyHanko subsets the stamp's font anew on every signature; the full Noto Serif (Greek,
    Cyrillic and their layout tables) makes that take over a second, the cut-down one a third.
    """
    source_path = Path(source)
    stat = source_path.stat()
    target = Path(settings.VAR_DIR) / "cache" / f"{source_path.stem}-vi-{stat.st_size}-{int(stat.st_mtime)}.ttf"
    if target.exists():
        return str(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        font = TTFont(source)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=VIETNAMESE_UNICODES)
        subsetter.subset(font)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, suffix=".ttf")
        with os.fdopen(descriptor, "wb") as handle:
            font.save(handle)
        os.replace(temporary, target)
    except OSError as error:
        logger.warning("Could not cache a Vietnamese cut of %s (%s); the stamp uses the whole font", source, error)
        return source
    return str(target)


def _stamp_place(writer: IncrementalPdfFileWriter) -> tuple[int, tuple[int, int, int, int]]:
    """Where the stamp goes: into the space the report keeps for it above the signer's name (the
    `signature-stamp` destination the renderer leaves), which is not the last page when a
    landscape appendix follows; else the bottom right of the last page."""
    target = _named_destination(writer, "signature-stamp")
    if target is not None:
        pages = _page_refs(writer.root["/Pages"])
        page_ref, left, top = target
        if page_ref in pages:
            x1, y2 = left, top - STAMP_GAP_MM * POINTS_PER_MM
            box = (
                round(x1),
                round(y2 - STAMP_HEIGHT_MM * POINTS_PER_MM),
                round(x1 + STAMP_WIDTH_MM * POINTS_PER_MM),
                round(y2),
            )
            return pages.index(page_ref), box
    return -1, _stamp_box(writer)


def _named_destination(writer: IncrementalPdfFileWriter, name: str) -> tuple[Any, float, float] | None:
    """The page and the top-left point of a named destination (/XYZ), if the document has it."""
    names = writer.root.get("/Names")
    tree = names.get_object().get("/Dests") if names is not None else None
    pending = [tree.get_object()] if tree is not None else []
    while pending:
        node = pending.pop()
        entries = node.get("/Names", [])
        for index in range(0, len(entries) - 1, 2):
            if str(entries[index]) == name:
                destination = entries[index + 1].get_object()
                if hasattr(destination, "keys"):  # a dictionary {/D [...]} rather than the array
                    destination = destination["/D"]
                if len(destination) >= 4 and str(destination[1]) == "/XYZ":
                    return destination.raw_get(0).reference, float(destination[2]), float(destination[3])
        pending.extend(kid.get_object() for kid in node.get("/Kids", []))
    return None


def _page_refs(pages: Any) -> list[Any]:
    """References of the document's pages, in order."""
    refs: list[Any] = []
    kids = pages.get_object()["/Kids"]
    for index in range(len(kids)):
        kid = kids.raw_get(index)  # the reference, not the object it points to
        refs.extend([kid.reference] if kid.get_object().get("/Type") == "/Page" else _page_refs(kid))
    return refs


def _stamp_box(writer: IncrementalPdfFileWriter) -> tuple[int, int, int, int]:
    """The stamp's rectangle at the bottom right of the last page, whatever its size."""
    page_ref, _resources = writer.find_page_for_modification(-1)
    node = page_ref.get_object()
    while "/MediaBox" not in node:
        node = node["/Parent"]
    _left, bottom, right, _top = (float(value) for value in node["/MediaBox"])
    x2 = right - STAMP_RIGHT_MM * POINTS_PER_MM
    y1 = bottom + STAMP_BOTTOM_MM * POINTS_PER_MM
    return (
        round(x2 - STAMP_WIDTH_MM * POINTS_PER_MM),
        round(y1),
        round(x2),
        round(y1 + STAMP_HEIGHT_MM * POINTS_PER_MM),
    )


# --- verification ------------------------------------------------------------------------------


def verify_pdf(pdf: bytes) -> Verification:
    """pyHanko's verdict on every signature of ``pdf``; never raises."""
    try:
        return _verify(pdf)
    except Exception as error:
        # A PDF crafted to trip the validator is still only an invalid PDF to the caller.
        logger.exception("Verification failed unexpectedly")
        return _verdict_without_signature(SUMMARY_UNREADABLE, f"Không kiểm tra được tệp ({error}).")


def _verify(pdf: bytes) -> Verification:
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_regular_signatures)
    except Exception as error:
        logger.info("Unreadable PDF submitted for verification: %s", error)
        return _verdict_without_signature(SUMMARY_UNREADABLE, f"Tệp không phải PDF hợp lệ hoặc đã hỏng ({error}).")
    if not signatures:
        return _verdict_without_signature(SUMMARY_NO_SIGNATURE, "Tài liệu không mang chữ ký số nào.")

    roots = configured_trust_roots()
    problems: list[str] = []
    all_intact = all_trusted = all_timestamped = covers_document = True
    signed_by: str | None = None
    signed_at: datetime | None = None
    for index, signature in enumerate(signatures):
        is_last = index == len(signatures) - 1
        try:
            status = _validate(reader, signature, roots)
        except Exception as error:
            logger.info("Signature %s could not be validated: %s", signature.field_name, error)
            problems.append(f"Chữ ký không kiểm tra được (dữ liệu chữ ký hỏng): {error}")
            all_intact = all_trusted = all_timestamped = covers_document = False
            continue
        timestamp = status.timestamp_validity
        timestamped = timestamp is not None and timestamp.intact and timestamp.valid and timestamp.trusted
        # A timestamp token that no longer matches its own signature was changed after signing.
        timestamp_intact = timestamp is None or (timestamp.intact and timestamp.valid)
        intact = status.intact and status.valid and timestamp_intact and _unsigned_bytes_untouched(signature, roots)
        # A timestamp that is there must hold too: it is what the certificate was checked against.
        trusted = intact and status.trusted and (timestamp is None or timestamped)
        all_intact &= intact
        all_trusted &= trusted
        all_timestamped &= timestamped
        if signed_by is None:
            signed_by = _common_name(status.signing_cert)
            moment = timestamp.timestamp if timestamped and timestamp is not None else status.signer_reported_dt
            signed_at = moment.astimezone(VIETNAM) if moment is not None else None
        if not intact:
            problems.append("Nội dung đã ký không còn khớp với chữ ký: tài liệu đã bị sửa.")
        elif not status.trusted:
            problems.append(_trust_problem(status))
        if timestamp is None:
            problems.append("Chữ ký không có dấu thời gian.")
        elif not timestamped:
            problems.append("Dấu thời gian của chữ ký không hợp lệ hoặc không được tin cậy.")
        if not _covers_document(status, is_last=is_last):
            covers_document = False
            problems.append("Tài liệu có phần được thêm hoặc sửa sau khi ký.")

    valid = all_intact and all_trusted and covers_document
    if valid:
        summary = SUMMARY_VALID
    elif not all_intact or not covers_document:
        summary = SUMMARY_ALTERED
    else:
        summary = SUMMARY_UNTRUSTED
    return Verification(
        valid=valid,
        intact=all_intact,
        trusted=all_trusted,
        signed_by=signed_by,
        signed_at=signed_at,
        timestamped=all_timestamped,
        summary=summary,
        problems=problems,
    )


def _validate(
    reader: PdfFileReader, signature: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate]
) -> PdfSignatureStatus:
    # The timestamp (checked now) proves the signature existed at its time; the signer's
    # certificate is checked at that time, with the revocation data embedded then (B-T/B-LT).
    signing_time = _signature_timestamp_time(signature)
    return validate_pdf_signature(
        signature,
        signer_validation_context=_verification_context(reader, roots, moment=signing_time),
        ts_validation_context=_verification_context(reader, roots, moment=None),
    )


def _verification_context(
    reader: PdfFileReader, roots: list[asn1_x509.Certificate], *, moment: datetime | None
) -> ValidationContext:
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=moment)
    return dss.as_validation_context(
        {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "soft-fail", "moment": moment}
    )


def _signature_timestamp_time(signature: EmbeddedPdfSignature) -> datetime | None:
    unsigned_attrs = signature.signer_info["unsigned_attrs"]
    if unsigned_attrs.native is None:
        return None
    for attribute in unsigned_attrs:
        if attribute["type"].native == "signature_time_stamp_token":
            token = attribute["values"][0]
            tst_info = token["content"]["encap_content_info"]["content"].parsed
            gen_time: datetime = tst_info["gen_time"].native
            return gen_time
    return None


def _unsigned_bytes_untouched(signature: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate]) -> bool:
    """The signature's own bytes lie outside the signed ranges: check what the signature cannot."""
    try:
        return (
            _contents_padding_is_clean(signature)
            and _cms_fields_consistent(signature)
            and _embedded_certificates_untouched(signature, roots)
        )
    except Exception as error:
        logger.info("Signature %s has unreadable contents: %s", signature.field_name, error)
        return False


def _contents_padding_is_clean(signature: EmbeddedPdfSignature) -> bool:
    """After the CMS object, /Contents holds nothing but the zeros the signer reserved."""
    contents = signature.pkcs7_content
    _class, _method, _tag, header, content, trailer = asn1_parser.parse(contents)
    return not contents[len(header) + len(content) + len(trailer) :].strip(b"\x00")


def _cms_fields_consistent(signature: EmbeddedPdfSignature) -> bool:
    """Fields no signature covers must still say exactly what RFC 5652 and the covered ones do.

    They are not used for validation (names even match case-insensitively), so only this
    notices that one was changed: in the signature and in its timestamp token alike.
    """
    return all(_signed_data_consistent(signed_data) for signed_data in _signed_datas(signature))


def _signed_data_consistent(signed_data: cms.SignedData) -> bool:
    certificates = [choice.chosen for choice in (signed_data["certificates"] or []) if choice.name == "certificate"]
    declared_digests = {algorithm.dump() for algorithm in signed_data["digest_algorithms"]}
    signer_versions = set()
    for signer_info in signed_data["signer_infos"]:
        sid = signer_info["sid"]
        version = signer_info["version"].native
        signer_versions.add(version)
        if sid.name == "issuer_and_serial_number":
            issuer, serial = sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native
            same_serial = [certificate for certificate in certificates if certificate.serial_number == serial]
            if version != "v1" or (same_serial and all(c.issuer.dump() != issuer for c in same_serial)):
                return False
        elif version != "v3":
            return False
        if signer_info["digest_algorithm"].dump() not in declared_digests:
            return False
    # RFC 5652 § 5.1 (versions 4 and 5, for attribute certificates and other formats, pass).
    is_data = signed_data["encap_content_info"]["content_type"].native == "data"
    expected = "v1" if is_data and signer_versions <= {"v1"} else "v3"
    return signed_data["version"].native in {expected, "v4", "v5"}


def _signed_datas(signature: EmbeddedPdfSignature) -> list[cms.SignedData]:
    """The signature's SignedData and those of its signature timestamp tokens."""
    signed_datas = [signature.signed_data]
    unsigned_attrs = signature.signer_info["unsigned_attrs"]
    if unsigned_attrs.native is not None:
        signed_datas += [
            token["content"]
            for attribute in unsigned_attrs
            if attribute["type"].native == "signature_time_stamp_token"
            for token in attribute["values"]
        ]
    return signed_datas


def _embedded_certificates_untouched(signature: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate]) -> bool:
    """Whether every certificate copy in the signature (and its timestamp) still verifies under its issuer.

    The CMS signature covers the signer's certificate but not the other copies that travel
    with it (the root, the TSA's chain); validation takes those from the trust list, so a
    changed copy would go unnoticed: its issuer's signature over it betrays it.
    """
    try:
        embedded = [
            x509.load_der_x509_certificate(choice.chosen.dump())
            for signed_data in _signed_datas(signature)
            for choice in (signed_data["certificates"] or [])
            if choice.name == "certificate"
        ]
        trusted = [x509.load_der_x509_certificate(root.dump()) for root in roots]
    except ValueError:
        return False
    known = embedded + trusted
    for certificate in embedded:
        issuers = [candidate for candidate in known if candidate.subject == certificate.issuer]
        if issuers:
            if not any(_issued_by(certificate, issuer) for issuer in issuers):
                return False
        elif any(_same_key_and_subject(certificate, root) and certificate != root for root in trusted):
            # A copy of a trusted root whose issuer no longer names anyone: changed in transit.
            return False
    return True


def _same_key_and_subject(certificate: x509.Certificate, other: x509.Certificate) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return certificate.subject == other.subject and (
        certificate.public_key().public_bytes(*spki) == other.public_key().public_bytes(*spki)
    )


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _covers_document(status: PdfSignatureStatus, *, is_last: bool) -> bool:
    """Whole document up to DSS and document-timestamp updates (later signatures for earlier ones)."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION or not status.docmdp_ok:
        return False
    level = status.modification_level
    allowed = ModificationLevel.LTA_UPDATES if is_last else ModificationLevel.FORM_FILLING
    return level is not None and level <= allowed


def _trust_problem(status: PdfSignatureStatus) -> str:
    if status.revoked:
        return "Chứng thư số của người ký đã bị thu hồi."
    if status.validation_path is None:
        return "Chứng thư số của người ký không thuộc tổ chức cung cấp dịch vụ chứng thực được tin cậy."
    return "Chứng thư số của người ký không hợp lệ tại thời điểm ký (hết hạn hoặc sai mục đích sử dụng)."


def _common_name(certificate: asn1_x509.Certificate) -> str:
    common_name = certificate.subject.native.get("common_name")
    if isinstance(common_name, list):
        common_name = common_name[-1]
    return str(common_name) if common_name else certificate.subject.human_friendly


def _verdict_without_signature(summary: str, problem: str) -> Verification:
    return Verification(
        valid=False,
        intact=False,
        trusted=False,
        signed_by=None,
        signed_at=None,
        timestamped=False,
        summary=summary,
        problems=[problem],
    )
