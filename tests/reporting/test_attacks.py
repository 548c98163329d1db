"""The attacks on signed PDFs of the "PDF Insecurity" research (pdf-insecurity.org: Mladenov,
Mainka, Meyer zu Selhausen, Grothe, Schwenk 2019; Mainka, Mladenov, Rohlmann 2021), each built
in code from a genuine signed report, and the verdict each must get.

- Universal signature forgery: the signature's values missing or degenerate → invalid.
- Incremental saving: a new page, an overlay, an annotation, a form field, a catalogue action
  appended after the signature → modified after signing.
- Signature wrapping: the signed second range moved and new objects put before the file's new
  end, with a signature dictionary naming the old ranges → modified after signing (also when the
  file keeps exactly its length, which pyHanko 0.38 reads as covering the entire file).
- Shadow attacks (hide, replace, hide-and-replace): content prepared before signing, shown by a
  later increment → modified after signing.
- Bytes after %%EOF → modified after signing.
"""

from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pytest
from django.test import override_settings
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from weasyprint import HTML

from reporting import pki
from reporting.signing import sign_pdf
from reporting.verification import Kind, verify_pdf

pytestmark = pytest.mark.django_db

SETTINGS = {
    "REPORT_SIGNING_PASSPHRASE": "test-only-signing-passphrase",
    "REPORT_SIGNING_PASSPHRASES": {},
    "REPORT_SIGNING_P12": {},
    "REPORT_TSA_URL": "",
    "REPORT_PKCS11_MODULE": "",
    "REPORT_TRUST_ROOTS": [],
    "REPORT_FETCH_REVOCATION_INFO": False,
    "REPORT_REVOCATION_CRLS": [],
}
REPORT = """<html lang="vi"><head><meta name="description" content="http://127.0.0.1:8000/verify/ABCD2345/">
<style>@page { size: A4; margin: 20mm }</style></head><body>
<h1>BÁO CÁO</h1><p>Tỷ lệ trạm y tế xã có bác sĩ làm việc: 94,15%.</p>
<p style="break-before: page">Trang 2.</p></body></html>"""


def sign(pdf: bytes) -> bytes:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return sign_pdf(
        pdf,
        tenant_slug="lao-cai",
        signer_name="Nguyễn Thị Hồng Nhung",
        signer_title="Phó Giám đốc Sở Y tế",
        reason="Phát hành báo cáo",
        location="Lào Cai",
        signed_at=datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(microsecond=0),
    )


@pytest.fixture(scope="module")
def module_pki(tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: object) -> Path:
    directory = tmp_path_factory.mktemp("attacks-pki")
    with override_settings(REPORT_PKI_DIR=directory, **SETTINGS), django_db_blocker.unblock():  # type: ignore[attr-defined]
        pki.ensure_demo_pki(tenant_slugs=["lao-cai"])
    return directory


@pytest.fixture(scope="module")
def genuine_and_shadowed(module_pki: Path, django_db_blocker: object) -> dict[str, bytes]:
    """A genuine signed report, and reports signed with shadow content prepared before signing."""
    with override_settings(REPORT_PKI_DIR=module_pki, **SETTINGS), django_db_blocker.unblock():  # type: ignore[attr-defined]
        unsigned = bytes(HTML(string=REPORT).write_pdf())
        return {"genuine": sign(unsigned), "shadow": sign(with_shadow_content(unsigned))}


@pytest.fixture
def genuine(settings: object, module_pki: Path, genuine_and_shadowed: dict[str, bytes]) -> bytes:
    for name, value in {"REPORT_PKI_DIR": module_pki, **SETTINGS}.items():
        setattr(settings, name, value)
    return genuine_and_shadowed["genuine"]


@pytest.fixture
def shadowed(genuine: bytes, genuine_and_shadowed: dict[str, bytes]) -> bytes:
    return genuine_and_shadowed["shadow"]


# --- building blocks --------------------------------------------------------------------------


def incremental(pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    change(writer)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def signature_ref(pdf: bytes) -> generic.Reference:
    reader = PdfFileReader(BytesIO(pdf))
    return reader.embedded_regular_signatures[0].sig_field.raw_get("/V").reference


def first_page(writer: IncrementalPdfFileWriter) -> tuple[generic.IndirectObject, generic.DictionaryObject]:
    page_ref, _resources = writer.find_page_for_modification(0)
    return page_ref, page_ref.get_object()


def replace_signature_entries(pdf: bytes, **entries: generic.PdfObject | None) -> bytes:
    """The signature dictionary rewritten by an update: an entry set, or removed when None."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        fields = [field.get_object() for field in writer.root["/AcroForm"]["/Fields"]]
        field = next(field for field in fields if field.get("/FT") == "/Sig")
        reference = field.raw_get("/V").reference
        dictionary = reference.get_object()
        for key, value in entries.items():
            if value is None:
                del dictionary["/" + key]
            else:
                dictionary["/" + key] = value
        writer.mark_update(reference)

    return incremental(pdf, change)


RECT = generic.ArrayObject([generic.NumberObject(n) for n in (50, 700, 300, 740)])
SHADOW = b"q 1 1 1 rg 0 0 595 842 re f 0 0 0 rg 50 700 495 40 re f Q"


def with_shadow_content(unsigned: bytes) -> bytes:
    """Before signing: a content stream and a second page tree that nothing displays yet."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        shadow = writer.add_object(generic.StreamObject(stream_data=SHADOW))
        writer.root["/ShadowContent"] = shadow
        _page_ref, page = first_page(writer)
        shadow_page = generic.DictionaryObject({**page, generic.NameObject("/Contents"): shadow})
        shadow_page_ref = writer.add_object(shadow_page)
        pages = writer.add_object(
            generic.DictionaryObject(
                {
                    generic.NameObject("/Type"): generic.NameObject("/Pages"),
                    generic.NameObject("/Kids"): generic.ArrayObject([shadow_page_ref]),
                    generic.NameObject("/Count"): generic.NumberObject(1),
                }
            )
        )
        shadow_page["/Parent"] = pages
        writer.root["/ShadowPages"] = pages
        writer.update_root()

    return incremental(unsigned, change)


# --- universal signature forgery ----------------------------------------------------------------


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param({"Contents": None}, id="no-contents"),
        pytest.param({"Contents": generic.ByteStringObject(b"")}, id="empty-contents"),
        pytest.param({"Contents": generic.ByteStringObject(b"\x00" * 8192)}, id="zero-contents"),
        pytest.param({"ByteRange": None}, id="no-byterange"),
        pytest.param({"ByteRange": generic.ArrayObject([generic.NumberObject(0)] * 4)}, id="byterange-0000"),
        pytest.param({"ByteRange": generic.NullObject()}, id="byterange-null"),
    ],
)
def test_universal_signature_forgery_reads_as_invalid(genuine: bytes, entries: dict) -> None:
    verification = verify_pdf(replace_signature_entries(genuine, **entries))
    assert verification.kind in {Kind.INVALID, Kind.MODIFIED}, verification
    assert not verification.valid
    assert verification.signed_by is None


def test_universal_forgery_in_the_signed_revision_itself_reads_as_invalid(genuine: bytes) -> None:
    """/Contents overwritten with zeros in place: same length, same ranges, no signature."""
    start = genuine.index(b"/Contents <") + len(b"/Contents <")
    end = genuine.index(b">", start)
    forged = genuine[:start] + b"0" * (end - start) + genuine[end:]
    verification = verify_pdf(forged)
    assert verification.kind == Kind.INVALID


# --- incremental saving -------------------------------------------------------------------------


def new_page(writer: IncrementalPdfFileWriter) -> None:
    content = writer.add_object(generic.StreamObject(stream_data=b"0 0 0 rg 50 700 200 40 re f"))
    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 595, 842)]),
            generic.NameObject("/Contents"): content,
            generic.NameObject("/Resources"): generic.DictionaryObject(),
        }
    )
    writer.insert_page(page)


def overlay(writer: IncrementalPdfFileWriter) -> None:
    writer.add_stream_to_page(0, writer.add_object(generic.StreamObject(stream_data=SHADOW)))


def annotation(writer: IncrementalPdfFileWriter) -> None:
    page_ref, page = first_page(writer)
    note = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (50, 700, 300, 740)]
                ),
                generic.NameObject("/Contents"): generic.TextStringObject("Tỷ lệ: 99,99%"),
                generic.NameObject("/DA"): generic.TextStringObject("/Helv 18 Tf 0 g"),
                generic.NameObject("/P"): page_ref,
            }
        )
    )
    annots = page.get("/Annots", generic.ArrayObject())
    page["/Annots"] = generic.ArrayObject([*annots, note])
    writer.update_container(page)


def form_field(writer: IncrementalPdfFileWriter) -> None:
    page_ref, page = first_page(writer)
    field = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/FT"): generic.NameObject("/Tx"),
                generic.NameObject("/T"): generic.TextStringObject("ty_le"),
                generic.NameObject("/V"): generic.TextStringObject("99,99%"),
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (50, 700, 300, 740)]
                ),
                generic.NameObject("/P"): page_ref,
            }
        )
    )
    form = writer.root["/AcroForm"]
    form["/Fields"] = generic.ArrayObject([*form["/Fields"], field])
    page["/Annots"] = generic.ArrayObject([*page.get("/Annots", []), field])
    writer.update_container(form)
    writer.update_container(page)


def open_action(writer: IncrementalPdfFileWriter) -> None:
    writer.root["/OpenAction"] = generic.DictionaryObject(
        {
            generic.NameObject("/S"): generic.NameObject("/JavaScript"),
            generic.NameObject("/JS"): generic.TextStringObject("app.alert('Báo cáo hợp lệ')"),
        }
    )
    writer.update_root()


@pytest.mark.parametrize("change", [new_page, overlay, annotation, form_field, open_action], ids=lambda f: f.__name__)
def test_incremental_saving_reads_as_modified_after_signing(genuine: bytes, change: Callable) -> None:
    verification = verify_pdf(incremental(genuine, change))
    assert verification.kind == Kind.MODIFIED, verification
    assert verification.signed_by is None


# --- signature wrapping -------------------------------------------------------------------------


def literal(data: bytes) -> bytes:
    escaped = data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + escaped.replace(b"\r", b"\\r").replace(b"\n", b"\\n") + b")"


def serialized(value: generic.PdfObject) -> bytes:
    out = BytesIO()
    value.write_to_stream(out, None)
    return out.getvalue()


def wrapped(signed: bytes, *, extra: int = 0) -> bytes:
    """Signature wrapping: the signed second range moved up to just after the first, and a new
    revision after it (an overlay on page 1, the page, and a signature dictionary naming the moved
    ranges with the same CMS as a literal string); ``extra`` bytes longer than the original.

    The literal's length is chosen so that /ByteRange's lengths plus twice /Contents' add up to the
    file's length: what pyHanko 0.38 takes for a signature covering the entire file."""
    reader = PdfFileReader(BytesIO(signed))
    signature = reader.embedded_regular_signatures[0]
    _zero, a, b, c = (int(n) for n in signature.byte_range)
    xrefs = reader.xrefs
    last = xrefs.total_revisions - 1
    gap = b"<>"
    shift = a + len(gap) - b
    positions: dict[int, int] = {}
    for ref in xrefs.explicit_refs_in_revision(last):
        location = xrefs.get_historical_ref(ref, last)
        if isinstance(location, int):
            positions[ref.idnum] = location + shift if location >= b else location
    head = signed[:a] + gap + signed[b:]
    target = len(signed) + extra
    size = int(reader.trailer["/Size"])
    page_ref = reader.root["/Pages"]["/Kids"].raw_get(0).reference
    page = page_ref.get_object()
    contents = page.raw_get("/Contents")
    old = list(contents) if isinstance(contents, generic.ArrayObject) else [contents]
    new_page = generic.DictionaryObject(
        {**page, generic.NameObject("/Contents"): generic.ArrayObject([*old, generic.IndirectObject(size, 0, reader)])}
    )
    cms_length = (target - a - c - 2) // 2
    cms = bytes(signature.pkcs7_content).rstrip(b"\x00")
    sig_entries = b"".join(
        serialized(key) + b" " + serialized(value) + b"\n"
        for key, value in signature.sig_object.items()
        if key not in {"/Contents", "/ByteRange"}
    )
    sig_dict = (
        b"<<\n"
        + sig_entries
        + b"/ByteRange [0 %d %d %d]\n/Contents " % (a, a + len(gap), c)
        + literal(cms + b"\x00" * (cms_length - len(cms)))
        + b"\n>>"
    )
    objects = [
        (size, b"<< /Length %d >>\nstream\n%s\nendstream" % (len(SHADOW), SHADOW)),
        (page_ref.idnum, serialized(new_page)),
        (signature_ref(signed).idnum, sig_dict),
    ]
    filler = 0
    for _attempt in range(4):
        body = bytearray(b"\n%" + b"x" * filler + b"\n")
        offsets = dict(positions)
        for idnum, text in objects:
            offsets[idnum] = len(head) + len(body)
            body += b"%d 0 obj\n%s\nendobj\n" % (idnum, text)
        xref_at = len(head) + len(body)
        body += b"xref\n" + b"".join(b"%d 1\n%010d 00000 n\r\n" % (i, offsets[i]) for i in sorted(offsets))
        trailer = generic.DictionaryObject(
            {
                generic.NameObject("/Size"): generic.NumberObject(size + 1),
                generic.NameObject("/Root"): reader.trailer.raw_get("/Root"),
                generic.NameObject("/Info"): reader.trailer.raw_get("/Info"),
                generic.NameObject("/ID"): reader.trailer.raw_get("/ID"),
                generic.NameObject("/Prev"): generic.NumberObject(xrefs.get_startxref_for_revision(last - 1)),
            }
        )
        body += b"trailer\n" + serialized(trailer) + b"\nstartxref\n%d\n%%%%EOF\n" % xref_at
        filler += target - len(head) - len(body)
        if len(head) + len(body) == target:
            return bytes(head + body)
    raise AssertionError("the wrapped file did not reach its length")


@pytest.mark.parametrize("extra", [0, 2000], ids=["same-length", "longer"])
def test_signature_wrapping_reads_as_modified_after_signing(genuine: bytes, extra: int) -> None:
    forged = wrapped(genuine, extra=extra)
    assert len(forged) == len(genuine) + extra
    verification = verify_pdf(forged)
    assert verification.kind == Kind.MODIFIED, verification
    assert verification.signed_by is None


def test_pyhanko_alone_takes_the_wrapped_file_for_an_entirely_covered_one(genuine: bytes) -> None:
    """Why the app checks for itself (README, "Security"): pyHanko 0.38's own verdict."""
    reader = PdfFileReader(BytesIO(wrapped(genuine)), strict=False)
    status = validate_pdf_signature(
        reader.embedded_regular_signatures[0],
        signer_validation_context=ValidationContext(trust_roots=pki.trust_roots(), allow_fetching=False),
    )
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE


# --- shadow attacks -----------------------------------------------------------------------------


def hide(writer: IncrementalPdfFileWriter) -> None:
    """Show the content that was signed but not displayed, by changing only the page."""
    _page_ref, page = first_page(writer)
    page["/Contents"] = writer.root.raw_get("/ShadowContent")
    writer.update_container(page)


def replace(writer: IncrementalPdfFileWriter) -> None:
    """Overwrite the signed page content object in place (same object number)."""
    _page_ref, page = first_page(writer)
    contents = page.raw_get("/Contents")
    reference = (contents[0] if isinstance(contents, generic.ArrayObject) else contents).reference
    writer.mark_update(reference)
    writer.objects[(reference.generation, reference.idnum)] = generic.StreamObject(stream_data=SHADOW)


def hide_and_replace(writer: IncrementalPdfFileWriter) -> None:
    """Swap the whole page tree for the shadow one signed alongside, re-declaring the catalogue."""
    writer.root["/Pages"] = writer.root.raw_get("/ShadowPages")
    writer.update_root()


@pytest.mark.parametrize("change", [hide, replace, hide_and_replace], ids=lambda f: f.__name__)
def test_shadow_attacks_read_as_modified_after_signing(shadowed: bytes, change: Callable) -> None:
    assert verify_pdf(shadowed).kind == Kind.INTACT  # the prepared document itself is genuine
    verification = verify_pdf(incremental(shadowed, change))
    assert verification.kind == Kind.MODIFIED, verification


# --- trailing bytes and the genuine report ------------------------------------------------------


@pytest.mark.parametrize("tail", [b"\n% nothing to see\n", b"\x00" * 64, b"1 0 obj\n(99,99%)\nendobj\n"])
def test_bytes_after_the_end_of_file_read_as_modified_after_signing(genuine: bytes, tail: bytes) -> None:
    verification = verify_pdf(genuine + tail)
    assert verification.kind == Kind.MODIFIED, verification


def test_the_genuine_report_reads_signed_and_intact(genuine: bytes) -> None:
    verification = verify_pdf(genuine)
    assert verification.kind == Kind.INTACT, verification
    assert verification.signed_by == "Sở Y tế tỉnh Lào Cai"
    assert verification.timestamped
    assert verification.code == "ABCD2345"
