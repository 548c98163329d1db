"""Bounded work for anonymous uploads: a file with 400 signature fields pointing at one signature
is refused quickly and cheaply, and the per-address limit answers 429 with Retry-After."""

import time
import tracemalloc
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext
from rest_framework.test import APIClient

from reporting import pki
from reporting.verification import Kind, verify_pdf
from tests.reporting.test_attacks import SETTINGS, genuine, genuine_and_shadowed, module_pki  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

TIMESTAMPS = 8


def many_fields(signed: bytes, count: int) -> bytes:
    """`count` signature fields, each pointing at the one signature dictionary."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    form = writer.root["/AcroForm"]
    fields = [field.get_object() for field in form["/Fields"]]
    signature = next(field for field in fields if field.get("/FT") == "/Sig").raw_get("/V")
    copies = [
        writer.add_object(
            generic.DictionaryObject(
                {
                    generic.NameObject("/FT"): generic.NameObject("/Sig"),
                    generic.NameObject("/T"): generic.TextStringObject(f"Sig{index}"),
                    generic.NameObject("/V"): signature,
                }
            )
        )
        for index in range(count)
    ]
    form["/Fields"] = generic.ArrayObject([*form["/Fields"], *copies])
    writer.update_container(form)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_four_hundred_signature_fields_are_refused_in_time_and_memory(genuine: bytes) -> None:  # noqa: F811
    hostile = many_fields(genuine, 400)
    tracemalloc.start()
    started = time.perf_counter()
    verification = verify_pdf(hostile)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert verification.kind == Kind.TOO_COMPLEX
    assert elapsed < 2, elapsed
    assert peak < 30 * 1024 * 1024, peak


def test_a_few_fields_sharing_one_signature_read_as_invalid(genuine: bytes) -> None:  # noqa: F811
    assert verify_pdf(many_fields(genuine, 3)).kind == Kind.INVALID


def test_too_many_revisions_are_refused(genuine: bytes, settings: object) -> None:  # noqa: F811
    settings.VERIFY_MAX_REVISIONS = 2  # type: ignore[attr-defined]
    assert verify_pdf(genuine + b"\n%%EOF\n" * 3).kind == Kind.TOO_COMPLEX


def test_too_many_objects_are_refused_before_they_are_read(genuine: bytes, settings: object) -> None:  # noqa: F811
    settings.VERIFY_MAX_OBJECTS = 5  # type: ignore[attr-defined]
    assert verify_pdf(genuine).kind == Kind.TOO_COMPLEX


def test_an_object_stream_packing_a_million_objects_is_refused(genuine: bytes) -> None:  # noqa: F811
    packed = b"99999 0 obj\n<< /Type /ObjStm /N 1000000 /First 10 /Length 0 >>\nstream\n\nendstream\nendobj\n"
    started = time.perf_counter()
    verification = verify_pdf(genuine.replace(b"%%EOF", packed + b"%%EOF", 1))
    assert verification.kind == Kind.TOO_COMPLEX
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("filler", [b"1", b"/N 1 ", b"/Type/ObjStm /N 1 "], ids=["digits", "counts", "streams"])
def test_counting_objects_stays_linear_on_hostile_bytes(genuine: bytes, filler: bytes) -> None:  # noqa: F811
    # 2 MB of what the object counting looks for, without the delimiters it stops at.
    hostile = genuine.replace(b"%%EOF", b"%" + filler * (2_000_000 // len(filler)) + b"\n%%EOF", 1)
    started = time.perf_counter()
    verify_pdf(hostile)
    assert time.perf_counter() - started < 5


@pytest.fixture(scope="module")
def timestamped_again(
    module_pki: Path,  # noqa: F811
    genuine_and_shadowed: dict[str, bytes],  # noqa: F811
    django_db_blocker: Any,
) -> bytes:
    """The genuine report with document timestamps added one after the other: a signature and
    TIMESTAMPS more, each in a revision of its own, all of them permitted updates."""
    with override_settings(REPORT_PKI_DIR=module_pki, **SETTINGS), django_db_blocker.unblock():
        tsa = pki.demo_tsa()
        stamper = PdfTimeStamper(DummyTimeStamper(tsa_cert=tsa.certificate, tsa_key=tsa.private_key))
        pdf = genuine_and_shadowed["genuine"]
        for _ in range(TIMESTAMPS):
            context = ValidationContext(trust_roots=pki.trust_roots())
            pdf = stamper.timestamp_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), "sha256", context).getvalue()
    return pdf


def test_the_time_budget_stops_a_long_verification_between_its_signatures(
    timestamped_again: bytes,
    settings: Any,
    genuine: bytes,  # noqa: F811 (the PKI's settings)
) -> None:
    whole = verify_pdf(timestamped_again)
    assert whole.kind == Kind.INTACT, whole.problems
    started = time.perf_counter()
    verify_pdf(timestamped_again)
    unbounded = time.perf_counter() - started
    settings.VERIFY_TIME_BUDGET_SECONDS = unbounded / 4

    started = time.perf_counter()
    bounded = verify_pdf(timestamped_again)
    spent = time.perf_counter() - started

    assert bounded.kind == Kind.TOO_COMPLEX
    assert bounded.summary == "Tệp quá phức tạp để kiểm tra: việc kiểm tra tệp này vượt quá giới hạn cho phép."
    assert bounded.problems == [bounded.summary]  # the verdict's words, no exception text
    assert bounded.signed_by is None
    # Stopped after the signature under way when the time ran out, not at the end of all of them.
    assert spent < unbounded * 0.7, (spent, unbounded)


def test_verifications_per_address_are_limited_with_retry_after(genuine: bytes, settings: object, client) -> None:  # noqa: F811
    settings.VERIFY_RATE_LIMIT = 2  # type: ignore[attr-defined]
    api = APIClient(REMOTE_ADDR="203.0.113.77")
    statuses = [
        api.post("/api/verify/", {"file": SimpleUploadedFile("r.pdf", b"%PDF-1.7 no")}, format="multipart").status_code
        for _ in range(3)
    ]
    assert statuses[:2] == [200, 200]
    assert statuses[2] == 429
    refused = api.post("/api/verify/", {"file": SimpleUploadedFile("r.pdf", b"x")}, format="multipart")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    page = client.post("/verify/", {"file": SimpleUploadedFile("r.pdf", b"x")}, REMOTE_ADDR="203.0.113.77")
    assert page.status_code == 429
    assert page["Retry-After"]
    other = APIClient(REMOTE_ADDR="203.0.113.78")
    assert (
        other.post("/api/verify/", {"file": SimpleUploadedFile("r.pdf", b"x")}, format="multipart").status_code == 200
    )
