"""Byte-level checks of a signature, independent of pyHanko's coverage verdict.

pyHanko 0.38 decides that a signature covers the whole file when ``/ByteRange``'s two lengths
plus twice the length of ``/Contents`` add up to the file's length, without checking that the
second range starts right after ``/Contents`` (``EmbeddedPdfSignature.
evaluate_signature_coverage``). A wrapped file of exactly the original length — the signed
second range moved, a new signature dictionary whose ``/Contents`` is a literal string half the
size of the hex one, a new cross-reference section — therefore reads as "entire file" and
skips the difference analysis (README, "Security"). So the app checks for itself, on the
signature dictionary that the signature field's ``/V`` resolves to through the file's
cross-reference data (as pyHanko reads it):

- ``/ByteRange`` is exactly ``[0, a, b, E − b]``, where ``a`` is the offset of the ``<`` of
  that dictionary's ``/Contents`` and ``b`` the offset just after its ``>``;
- the gap holds that hexadecimal string and nothing else;
- ``E`` is the end of a revision: the signed bytes end with ``%%EOF`` (and an optional end of
  line) after a ``startxref`` that points at the cross-reference section of the revision
  that introduced the signature dictionary, and no later revision has anything before ``E``;
- pyHanko's own view of the signature (its byte range and contents) is the one checked here.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from io import BytesIO

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from reporting.verification.limits import Budget

# What PDF allows after %%EOF: one end of line. Anything else after a revision is content.
END_OF_REVISION = re.compile(rb"startxref\s+(\d+)\s*%%EOF(?:\r\n|\r|\n)?\Z")
OBJECT_HEADER = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")
HEX_STRING = re.compile(rb"<[0-9A-Fa-f]*>")


class Flaw(StrEnum):
    """Which verdict a structural fault leads to."""

    # The signature value itself is missing, degenerate or malformed (universal forgery).
    INVALID = "invalid"
    # The signed bytes are not where the signature says (wrapping) or the file goes on after them.
    MODIFIED = "modified"


class StructureError(Exception):
    def __init__(self, flaw: Flaw, reason: str) -> None:
        super().__init__(reason)
        self.flaw = flaw
        self.reason = reason


@dataclass(frozen=True)
class SignedSpan:
    """Where a signature's value lies and where the revision it signs ends."""

    contents_start: int
    contents_end: int
    revision_end: int
    revision: int


def signed_span(pdf: bytes, reader: PdfFileReader, signature: EmbeddedPdfSignature, budget: Budget) -> SignedSpan:
    """The checked span of ``signature`` in ``pdf``; raises :class:`StructureError` (and
    :class:`TooComplex` when the budget's time runs out between revisions)."""
    value = signature.sig_field.raw_get("/V")
    if not isinstance(value, generic.IndirectObject):
        raise StructureError(Flaw.INVALID, "signature dictionary is not an indirect object")
    reference = value.reference
    offset = reader.xrefs[reference]
    if not isinstance(offset, int):
        # Inside an object stream its bytes are compressed: no byte range can point at them.
        raise StructureError(Flaw.INVALID, "signature dictionary is inside an object stream")
    values = _dictionary_value_spans(pdf, reader, reference, offset)
    if "/ByteRange" not in values or "/Contents" not in values:
        raise StructureError(Flaw.INVALID, "signature without /ByteRange or /Contents")
    byte_range, _ = values["/ByteRange"]
    contents, (start, end) = values["/Contents"]
    numbers = _byte_range_numbers(byte_range)
    if numbers[0] != 0 or numbers[1] <= 0 or numbers[3] <= 0:
        raise StructureError(Flaw.INVALID, "degenerate /ByteRange")
    if (numbers[1], numbers[2]) != (start, end):
        raise StructureError(Flaw.MODIFIED, "the signed ranges do not surround this signature's /Contents")
    if not HEX_STRING.fullmatch(pdf[start:end]) or (end - start) % 2:
        raise StructureError(Flaw.INVALID, "/Contents is not a hexadecimal string of whole bytes")
    revision_end = end + numbers[3]
    if revision_end > len(pdf):
        raise StructureError(Flaw.MODIFIED, "/ByteRange reaches beyond the end of the file")
    # pyHanko must have digested and parsed exactly what was checked here.
    checked_contents = getattr(contents, "original_bytes", None)
    if [int(number) for number in signature.byte_range] != numbers or signature.pkcs7_content != checked_contents:
        raise StructureError(Flaw.MODIFIED, "the signature read by the validator is not the one at its place")
    revision = _revision_ending_at(pdf, reader, reference, revision_end, budget)
    return SignedSpan(contents_start=start, contents_end=end, revision_end=revision_end, revision=revision)


def _byte_range_numbers(byte_range: generic.PdfObject) -> list[int]:
    if not isinstance(byte_range, generic.ArrayObject) or len(byte_range) != 4:
        raise StructureError(Flaw.INVALID, "/ByteRange is not an array of four numbers")
    numbers = []
    for item in byte_range:
        if not isinstance(item, generic.NumberObject) or not isinstance(item, int) or item < 0:
            raise StructureError(Flaw.INVALID, "/ByteRange is not an array of four numbers")
        numbers.append(int(item))
    return numbers


def _dictionary_value_spans(
    pdf: bytes, reader: PdfFileReader, reference: generic.Reference, offset: int
) -> dict[str, tuple[generic.PdfObject, tuple[int, int]]]:
    """The signature dictionary's direct values and their byte spans, read at its xref offset as
    pyHanko's ``DictionaryObject.read_from_stream`` reads them (the first definition of a key
    counts there; here a second definition is refused)."""
    header = OBJECT_HEADER.match(pdf, offset)
    if header is None or (int(header[1]), int(header[2])) != (reference.idnum, reference.generation):
        raise StructureError(Flaw.MODIFIED, "the signature's cross-reference entry points elsewhere")
    stream = BytesIO(pdf)
    stream.seek(header.end())
    misc.read_non_whitespace(stream, seek_back=True)
    if stream.read(2) != b"<<":
        raise StructureError(Flaw.INVALID, "the signature object is not a dictionary")
    spans: dict[str, tuple[generic.PdfObject, tuple[int, int]]] = {}
    container = generic.Reference(reference.idnum, reference.generation, reader)
    try:
        while True:
            if misc.read_non_whitespace(stream) == b">":
                break
            stream.seek(-1, 1)
            key = generic.NameObject.read_from_stream(stream)
            misc.read_non_whitespace(stream, seek_back=True)
            start = stream.tell()
            value = generic.read_object(stream, container)
            if key in spans:
                raise StructureError(Flaw.MODIFIED, f"the signature dictionary defines {key} twice")
            spans[str(key)] = (value, (start, stream.tell()))
    except (misc.PdfReadError, ValueError) as error:
        raise StructureError(Flaw.INVALID, f"unreadable signature dictionary ({error})") from error
    return spans


def _revision_ending_at(
    pdf: bytes, reader: PdfFileReader, reference: generic.Reference, end: int, budget: Budget
) -> int:
    """The revision that introduced the signature dictionary, if it ends exactly at ``end``."""
    tail = END_OF_REVISION.search(pdf, max(0, end - 1024), end)
    if tail is None or tail.end() != end:
        raise StructureError(Flaw.MODIFIED, "the signed bytes do not end with the end of a revision")
    xrefs = reader.xrefs
    revision = xrefs.get_introducing_revision(reference)
    if xrefs.get_last_change(reference) != revision:
        raise StructureError(Flaw.MODIFIED, "the signature dictionary was replaced by a later revision")
    if int(tail[1]) != xrefs.get_startxref_for_revision(revision):
        raise StructureError(Flaw.MODIFIED, "the signed bytes end with another revision than the signature's")
    for earlier in range(revision + 1):
        if xrefs.get_xref_container_info(earlier).end_location > end:
            raise StructureError(Flaw.MODIFIED, "a signed revision's cross-reference data lies after the signed bytes")
    for later in range(revision + 1, xrefs.total_revisions):
        budget.check_time()
        offsets = [xrefs.get_startxref_for_revision(later)]
        offsets += [
            location
            for ref in xrefs.explicit_refs_in_revision(later)
            if isinstance(location := xrefs.get_historical_ref(ref, later), int)
        ]
        if min(offsets) < end:
            raise StructureError(Flaw.MODIFIED, "a later revision reaches into the signed bytes")
    return revision


def file_end_is_revision_end(pdf: bytes, reader: PdfFileReader) -> bool:
    """Whether the file ends with its last revision's ``startxref … %%EOF`` and nothing after."""
    tail = END_OF_REVISION.search(pdf, max(0, len(pdf) - 1024))
    xrefs = reader.xrefs
    return tail is not None and int(tail[1]) == xrefs.get_startxref_for_revision(xrefs.total_revisions - 1)
