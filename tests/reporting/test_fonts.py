"""A report renders and signs on a machine with no fonts of its own: its typefaces come with the
project's install (Python packages), not the system. The render and the signature run in a
subprocess whose fontconfig knows no font directory at all (FONTCONFIG_FILE)."""

import os
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from reporting import pki, rendering
from reporting.rendering import render_report_pdf
from tests.reporting.test_rendering import font_rows, make_report, pdf_text

pytestmark = pytest.mark.django_db

PASSPHRASE = "fonts-test-pki"
# The report's faces (WeasyPrint names them after their @font-face family) and the stamp's (pyHanko
# names it after the font file's own name).
PROJECT_FONTS = ("Report-Serif", "NotoSerif")

RENDER_AND_SIGN = textwrap.dedent(
    """
    import sys
    from datetime import datetime, UTC
    from pathlib import Path

    import django

    django.setup()
    from reporting.rendering import html_to_pdf
    from reporting.signing import sign_pdf

    html, signed = Path(sys.argv[1]), Path(sys.argv[2])
    pdf = html_to_pdf(html.read_text())
    signed.write_bytes(
        sign_pdf(
            pdf,
            tenant_slug="lao-cai",
            signer_name="Ngô Vũ Quốc",
            signer_title="Phó Chủ tịch",
            reason="Ký số và phát hành",
            location="Lào Cai",
            signed_at=datetime.now(UTC),
        )
    )
    """
)


def report_page(monkeypatch: pytest.MonkeyPatch) -> str:
    """The HTML of a seed plan's report, as the renderer would turn it into PDF."""
    pages: list[str] = []

    def kept(html: str) -> bytes:
        pages.append(html)
        return b""

    monkeypatch.setattr(rendering, "html_to_pdf", kept)
    render_report_pdf(make_report("laocai-city-de-an-07-2024", "2024H1"))
    return pages[0]


def without_system_fonts(tmp_path: Path, pki_dir: Path) -> dict[str, str]:
    """The environment of the subprocess: the test's database and PKI, and a fontconfig with no
    font directory."""
    config = tmp_path / "fonts.conf"
    config.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        f"<fontconfig><cachedir>{tmp_path / 'fontconfig-cache'}</cachedir></fontconfig>\n"
    )
    database = connection.settings_dict
    env = {name: value for name, value in os.environ.items() if not name.startswith(("REPORT_", "FONTCONFIG"))}
    return {
        **env,
        "FONTCONFIG_FILE": str(config),
        "DJANGO_SETTINGS_MODULE": "healthplans.settings.test",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "HEALTHPLANS_VAR_DIR": str(tmp_path / "var"),
        "REPORT_PKI_DIR": str(pki_dir),
        "REPORT_SIGNING_PASSPHRASE": PASSPHRASE,
    }


def test_a_report_renders_and_signs_with_only_the_projects_fonts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    html = tmp_path / "report.html"
    html.write_text(report_page(monkeypatch))
    pki_dir = tmp_path / "pki"
    with override_settings(REPORT_PKI_DIR=pki_dir, REPORT_SIGNING_PASSPHRASE=PASSPHRASE, REPORT_SIGNING_P12={}):
        pki.ensure_demo_pki(tenant_slugs=["lao-cai"])
    env = without_system_fonts(tmp_path, pki_dir)
    assert subprocess.run(["fc-list"], env=env, capture_output=True, text=True, check=True).stdout == ""

    signed = tmp_path / "signed.pdf"
    subprocess.run(
        [sys.executable, "-c", RENDER_AND_SIGN, str(html), str(signed)], cwd=settings.BASE_DIR, env=env, check=True
    )

    rows = font_rows(signed)
    names = [row[0].split("+", 1)[-1] for row in rows]
    assert names, names
    assert all(name.startswith(PROJECT_FONTS) for name in names), names
    assert all(row[-5] == "yes" for row in rows), rows  # embedded
    text = unicodedata.normalize("NFC", pdf_text(signed))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Ký bởi: Ngô Vũ Quốc" in text
