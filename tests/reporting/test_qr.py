"""The report's QR code and verify link point to the address the site is served at: SITE_URL, which
`make run` derives from HOST and PORT unless it is set. The code is read from a page image as a
phone would (pdftoppm, then zbarimg from zbar-tools)."""

import os
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from django.conf import settings

from reporting.rendering import render_report_pdf
from tests.reporting.test_rendering import make_report, pdf_text, squeezed, write

pytestmark = pytest.mark.django_db

SERVED_AT = "http://10.20.30.40:8123"


def qr_codes(pdf: Path, tmp_path: Path) -> list[str]:
    """What the QR codes of the page with the verification block say."""
    with pdfplumber.open(pdf) as document:
        number = next(
            page.page_number
            for page in document.pages
            if "Mã xác thực" in unicodedata.normalize("NFC", page.extract_text())
        )
    image = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", str(number), "-l", str(number), "-singlefile", str(pdf), str(image)],
        check=True,
    )
    read = subprocess.run(["zbarimg", "--quiet", "--raw", f"{image}.png"], capture_output=True, text=True, check=True)
    return read.stdout.split()


def test_qr_code_and_link_name_the_served_address(settings: Any, tmp_path: Path) -> None:
    settings.SITE_URL = SERVED_AT
    report = make_report("laocai-city-de-an-07-2024", "2024H1")

    path = write(render_report_pdf(report), tmp_path)

    verify_url = f"{SERVED_AT}/verify/{report.verification_code}/"
    assert qr_codes(path, tmp_path) == [verify_url]
    assert squeezed(verify_url) in squeezed(unicodedata.normalize("NFC", pdf_text(path)))


def run_sees(env: dict[str, str], *arguments: str) -> set[str]:
    """The SITE_URL that each command of `make run` runs with (the commands only print it)."""
    printed = subprocess.run(
        # -o: the virtualenv counts as installed; MANAGE prints instead of running manage.py
        ["make", "-s", "-o", ".venv/bin/.installed", "run", *arguments, "MANAGE=printenv SITE_URL #"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(printed.split())


def test_make_run_serves_reports_at_its_own_address_unless_told_otherwise() -> None:
    env = {name: value for name, value in os.environ.items() if name != "SITE_URL"}

    assert run_sees(env, "HOST=10.20.30.40", "PORT=8123") == {SERVED_AT}
    assert run_sees({**env, "SITE_URL": "https://baocao.soyte.example.vn"}) == {"https://baocao.soyte.example.vn"}
