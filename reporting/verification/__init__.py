"""The verdict on any PDF that claims to carry a report's signature (made by
:mod:`reporting.signing`): ``verify_pdf`` runs pyHanko's overall validation and never raises:
bad input gets a verdict with reasons.

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

``verify_pdf`` is synchronous (pyHanko runs its own event loop): call it through
``sync_to_async`` from async code.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO

from asn1crypto import cms
from asn1crypto import parser as asn1_parser
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from reporting.pki import trust_roots as configured_trust_roots
from reporting.signing import VIETNAM

logger = logging.getLogger(__name__)


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
