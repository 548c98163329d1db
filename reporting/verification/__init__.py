"""The verdict on any PDF that claims to carry a report's signature (made by
:mod:`reporting.signing`): ``verify_pdf`` never raises; bad input gets a verdict with reasons.

What verification decides
-------------------------

Every signature field (bounded: :mod:`.limits`) is checked twice: byte by byte by the app
(:mod:`.structure`: the signed ranges surround exactly this signature's hexadecimal
``/Contents`` and end at the end of its revision; :mod:`.cms`: the bytes a signature cannot
cover), and by pyHanko (``validate_pdf_signature``, ``validate_pdf_timestamp`` for document
timestamps): the digest of the signed ranges, the CMS signature, the signer's chain to a
trusted root at the time of its timestamp, the timestamp token, and the difference analysis
of later revisions. pyHanko's coverage verdict alone is never trusted (README, "Security").
Bytes after the last signed revision are refused; between a signature and the end they may
only be what pyHanko's difference analysis classes as DSS and document-timestamp updates
(``ModificationLevel.LTA_UPDATES``), or form filling when a later signature follows.

The signer's certificate is also looked up in the revocation data the server holds
(:mod:`.revocation`), whatever the file embeds. A signature made before its certificate was
revoked, proved so by a trusted timestamp, is valid at signing time and says so; without a
trusted timestamp its time is only the signer's claim.

The verdicts, worst first: too complex, unreadable, modified after signing, signature invalid,
certificate revoked, signer not trusted, signed and intact (and a PDF with no signature).
``verify_pdf`` is synchronous (pyHanko runs its own event loop): call it through
``sync_to_async`` from async code.
"""

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from io import BytesIO
from itertools import islice

from asn1crypto import x509 as asn1_x509
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import DocumentTimestampStatus, PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from reporting.pki import trust_roots as configured_trust_roots
from reporting.signing import VIETNAM
from reporting.verification.cms import unsigned_bytes_untouched
from reporting.verification.limits import Budget, TooComplex
from reporting.verification.revocation import revocation_of
from reporting.verification.structure import Flaw, StructureError, file_end_is_revision_end, signed_span

logger = logging.getLogger(__name__)

# The verification page's address, as the report prints it and its /Info /Subject carries it.
VERIFY_LINK = re.compile(r"/verify/([A-Za-z0-9]+)/")


class Kind(StrEnum):
    """The verdict, most severe first (the order ``worst`` uses)."""

    TOO_COMPLEX = "too_complex"
    UNREADABLE = "unreadable"
    UNSIGNED = "unsigned"
    MODIFIED = "modified"
    INVALID = "invalid"
    REVOKED = "revoked"
    UNTRUSTED = "untrusted"
    INTACT = "intact"


SUMMARIES = {
    Kind.TOO_COMPLEX: gettext_noop("Too complex to verify: the file asks for more work than a verification may take."),
    Kind.UNREADABLE: gettext_noop("Not a PDF, or a damaged one that cannot be read."),
    Kind.UNSIGNED: gettext_noop("A PDF without a digital signature."),
    Kind.MODIFIED: gettext_noop("Modified after signing: this is not the document that was signed."),
    Kind.INVALID: gettext_noop("The signature is invalid."),
    Kind.REVOKED: gettext_noop("The signer's certificate is revoked."),
    Kind.UNTRUSTED: gettext_noop("The signer is not trusted: the certificate does not chain to a trusted authority."),
    Kind.INTACT: gettext_noop("Signed and intact: the document is exactly what was signed."),
}
ORDER = list(Kind)


@dataclass(frozen=True)
class Verification:
    kind: Kind
    signed_by: str | None
    signed_at: datetime | None
    timestamped: bool
    summary: str
    problems: list[str] = field(default_factory=list)
    # When the certificate was revoked (a signature made before is valid at signing time).
    revoked_at: datetime | None = None
    # SHA-256 of the bytes the first signature signs: the stored report, whatever was appended.
    signed_sha256: str | None = None
    # The verification code the document names (its /verify/<code>/ address).
    code: str | None = None

    @property
    def valid(self) -> bool:
        return self.kind == Kind.INTACT

    @property
    def intact(self) -> bool:
        """The signed bytes are unchanged and nothing that changes them was added."""
        return self.kind in {Kind.INTACT, Kind.UNTRUSTED, Kind.REVOKED}

    @property
    def trusted(self) -> bool:
        return self.kind == Kind.INTACT


@dataclass
class Finding:
    """What one signature field says."""

    kind: Kind
    problems: list[str] = field(default_factory=list)
    signer: str | None = None
    signed_at: datetime | None = None
    timestamped: bool = False
    revoked_at: datetime | None = None
    signed_sha256: str | None = None
    is_timestamp: bool = False


def verify_pdf(pdf: bytes, *, budget: Budget | None = None) -> Verification:
    """The verdict on every signature of ``pdf``; never raises."""
    try:
        return _verify(pdf, budget or Budget.from_settings())
    except TooComplex as error:
        logger.info("Verification refused: %s", error)
        return _verdict(Kind.TOO_COMPLEX)
    except Exception:
        # A PDF crafted to trip the validator is still only an unreadable PDF to the caller.
        logger.exception("Verification failed unexpectedly")
        return _verdict(Kind.UNREADABLE)


def _verify(pdf: bytes, budget: Budget) -> Verification:
    if b"%PDF-" not in pdf[:1024]:
        return _verdict(Kind.UNREADABLE)
    # Each revision ends with %%EOF: too many are refused before the reader builds them all.
    if pdf.count(b"%%EOF") > budget.max_revisions:
        raise TooComplex("too many revisions")
    budget.check_objects(pdf)
    budget.check_time()
    try:
        reader, revisions, fields = _read(pdf, budget, strict=True)
    except Exception as error:
        logger.info("PDF not readable strictly: %s", error)
        # A signer writes standard PDF: a signed file only a lenient reader can read was changed.
        budget.check_time()
        try:
            _reader, _revisions, fields = _read(pdf, budget, strict=False)
        except Exception:
            return _verdict(Kind.UNREADABLE)
        if fields:
            return _verdict(Kind.MODIFIED, [_("The file's structure was damaged or altered after signing.")])
        return _verdict(Kind.UNREADABLE)
    if revisions > budget.max_revisions or len(fields) > budget.max_signature_fields:
        raise TooComplex(f"{revisions} revisions, {len(fields)} signature fields or more")
    if not fields:
        return _verdict(Kind.UNSIGNED)
    budget.check_time()
    code = _document_code(reader)
    values = [getattr(value, "reference", None) for _name, value, _field in fields]
    if len(set(values)) != len(values):
        return _verdict(Kind.INVALID, [_("Several signature fields claim the same signature.")], code=code)

    roots = configured_trust_roots()
    findings: list[Finding] = []
    for index, (name, _value, sig_field) in enumerate(fields):
        budget.check_time()
        signatures_after = any(
            value.get_object().get("/Type") != "/DocTimeStamp" for _n, value, _f in fields[index + 1 :]
        )
        findings.append(_check_signature(pdf, reader, sig_field, name, roots, budget, later_signature=signatures_after))
    # What follows each signed revision was reviewed with it; bytes after the last revision
    # (garbage after %%EOF) were not: no reader should be shown a file that goes on.
    budget.check_time()
    if not file_end_is_revision_end(pdf, reader):
        findings.append(Finding(Kind.MODIFIED, [_("Content was added after the last signature.")]))
    return _combine(findings, code)


def _read(pdf: bytes, budget: Budget, *, strict: bool) -> tuple[PdfFileReader, int, list[tuple]]:
    reader = PdfFileReader(BytesIO(pdf), strict=strict)
    fields = list(islice(enumerate_sig_fields(reader, filled_status=True), budget.max_signature_fields + 1))
    return reader, reader.xrefs.total_revisions, fields


def _check_signature(
    pdf: bytes,
    reader: PdfFileReader,
    sig_field: object,
    name: str,
    roots: list[asn1_x509.Certificate],
    budget: Budget,
    *,
    later_signature: bool,
) -> Finding:
    """One signature's finding. The budget's time is checked between the passes over it (pyHanko's
    validation, once started, runs to its end: the counts keep it small)."""
    try:
        signature = EmbeddedPdfSignature(reader, sig_field, name)  # type: ignore[arg-type]
    except Exception as error:
        logger.info("Signature %s is unreadable: %s", name, error)
        return Finding(Kind.INVALID, [_("The signature's data is missing or damaged.")])
    is_timestamp = signature.sig_object_type == "/DocTimeStamp"
    try:
        span = signed_span(pdf, reader, signature, budget)
    except StructureError as error:
        logger.info("Signature %s fails the structural check: %s", name, error.reason)
        if error.flaw == Flaw.MODIFIED:
            return Finding(Kind.MODIFIED, [_("The signed bytes are not where the signature says they are.")])
        return Finding(Kind.INVALID, [_("The signature's data is missing or damaged.")])
    budget.check_time()
    status: PdfSignatureStatus | DocumentTimestampStatus
    try:
        if is_timestamp:
            status = validate_pdf_timestamp(signature, validation_context=_context(reader, roots, moment=None))
        else:
            status = validate_pdf_signature(
                signature,
                signer_validation_context=_context(reader, roots, moment=_signature_timestamp_time(signature)),
                ts_validation_context=_context(reader, roots, moment=None),
            )
    except Exception as error:
        logger.info("Signature %s could not be validated: %s", name, error)
        return Finding(Kind.INVALID, [_("The signature's data is missing or damaged.")])
    finding = Finding(Kind.INTACT, is_timestamp=is_timestamp)
    if not status.intact:
        return Finding(Kind.MODIFIED, [_("The signed content no longer matches its signature.")])
    finding.signed_sha256 = hashlib.sha256(pdf[: span.revision_end]).hexdigest()
    budget.check_time()
    if not status.valid or not unsigned_bytes_untouched(signature, roots):
        return Finding(Kind.INVALID, [_("The signature does not verify.")])
    if not _rest_is_permitted(status, span.revision_end == len(pdf), later_signature=later_signature):
        finding.kind = Kind.MODIFIED
        finding.problems.append(_("The document was changed after signing."))
        return finding
    if is_timestamp:
        if not status.trusted:
            finding.kind = Kind.UNTRUSTED
            finding.problems.append(_("A document timestamp is not from a trusted time-stamping authority."))
        return finding
    budget.check_time()
    _judge_signer(finding, status, signature)
    return finding


def _rest_is_permitted(status: object, covers_to_the_end: bool, *, later_signature: bool) -> bool:
    """Whether pyHanko agrees on the coverage, and what follows the signed revision is permitted."""
    coverage = getattr(status, "coverage", None)
    if covers_to_the_end:
        return coverage == SignatureCoverageLevel.ENTIRE_FILE
    level = getattr(status, "modification_level", None)
    allowed = ModificationLevel.FORM_FILLING if later_signature else ModificationLevel.LTA_UPDATES
    return (
        coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and getattr(status, "docmdp_ok", False) is not False
        and level is not None
        and level <= allowed
    )


def _judge_signer(finding: Finding, status: object, signature: EmbeddedPdfSignature) -> None:
    """Trust, revocation and time of a signature whose bytes verify."""
    timestamp = getattr(status, "timestamp_validity", None)
    if timestamp is not None and not (timestamp.intact and timestamp.valid):
        finding.kind = Kind.INVALID
        finding.problems.append(_("The signature's timestamp does not match the signature."))
        return
    trusted_time: datetime | None = timestamp.timestamp if timestamp is not None and timestamp.trusted else None
    finding.timestamped = trusted_time is not None
    moment = trusted_time or getattr(status, "signer_reported_dt", None)
    finding.signed_at = moment.astimezone(VIETNAM) if moment is not None else None
    if not finding.timestamped:
        finding.problems.append(_("The signature has no trusted timestamp: its time is only the signer's claim."))
    if not getattr(status, "trusted", False) or getattr(status, "validation_path", None) is None:
        finding.kind = Kind.REVOKED if getattr(status, "revoked", False) else Kind.UNTRUSTED
        if finding.kind == Kind.UNTRUSTED:
            finding.problems.append(_("The signer's certificate does not chain to a trusted certification authority."))
        return
    finding.signer = _common_name(signature.signer_cert)
    revoked_at = revocation_of(signature.signer_cert).revoked_at
    if revoked_at is None:
        return
    finding.revoked_at = revoked_at.astimezone(VIETNAM)
    when = date_format(finding.revoked_at, "d/m/Y H:i")
    if trusted_time is not None and trusted_time < revoked_at:
        finding.problems.append(
            _("Valid at signing time: the signature was timestamped before the certificate was revoked on %(when)s.")
            % {"when": when}
        )
        return
    finding.kind = Kind.REVOKED
    finding.problems.append(_("The signer's certificate was revoked on %(when)s.") % {"when": when})


def _combine(findings: list[Finding], code: str | None) -> Verification:
    kind = min((finding.kind for finding in findings), key=ORDER.index)
    regular = [finding for finding in findings if not finding.is_timestamp]
    first = regular[0] if regular else findings[0]
    problems = list(dict.fromkeys(problem for finding in findings for problem in finding.problems))
    return Verification(
        kind=kind,
        # Named only when the signature verifies and chains to a trusted root, on an intact document.
        signed_by=first.signer if kind in {Kind.INTACT, Kind.REVOKED} else None,
        signed_at=first.signed_at,
        timestamped=all(finding.timestamped for finding in regular) if regular else False,
        summary=_(SUMMARIES[kind]),
        problems=problems,
        revoked_at=first.revoked_at,
        signed_sha256=first.signed_sha256,
        code=code,
    )


def _context(
    reader: PdfFileReader, roots: list[asn1_x509.Certificate], *, moment: datetime | None
) -> ValidationContext:
    # The signer's certificate is checked at the signature timestamp's time with the revocation
    # data embedded then (B-T/B-LT); the server's own revocation data is asked separately.
    settings = {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "soft-fail", "moment": moment}
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return ValidationContext(**settings)  # type: ignore[arg-type]
    return dss.as_validation_context(settings)


def _signature_timestamp_time(signature: EmbeddedPdfSignature) -> datetime | None:
    unsigned_attrs = signature.signer_info["unsigned_attrs"]
    if unsigned_attrs.native is None:
        return None
    for attribute in unsigned_attrs:
        if attribute["type"].native == "signature_time_stamp_token":
            token = attribute["values"][0]
            gen_time: datetime = token["content"]["encap_content_info"]["content"].parsed["gen_time"].native
            return gen_time
    return None


def _document_code(reader: PdfFileReader) -> str | None:
    """The verification code of the document as displayed (its latest revision's /Info)."""
    try:
        subject = str(reader.trailer["/Info"]["/Subject"])
    except (KeyError, TypeError, AttributeError):
        return None
    match = VERIFY_LINK.search(subject)
    return match[1].upper() if match else None


def _common_name(certificate: asn1_x509.Certificate) -> str:
    common_name = certificate.subject.native.get("common_name")
    if isinstance(common_name, list):
        common_name = common_name[-1]
    return str(common_name) if common_name else certificate.subject.human_friendly


def _verdict(kind: Kind, problems: list[str] | None = None, *, code: str | None = None) -> Verification:
    return Verification(
        kind=kind,
        signed_by=None,
        signed_at=None,
        timestamped=False,
        summary=_(SUMMARIES[kind]),
        problems=problems or [_(SUMMARIES[kind])],
        code=code,
    )
